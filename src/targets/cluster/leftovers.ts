/**
 * What a method's removal left on the nodes, as the API shows it once the removal has
 * settled (the `leftovers` figure of the uninstall scenario):
 *
 * - pods still present in the namespaces the method's objects lived in (a DaemonSet's
 *   or KMM worker's pod that outlived its owner, a build pod);
 * - a custom OS image the node still runs: the node's MCO annotations name the rendered
 *   MachineConfig it is on (`machineconfiguration.openshift.io/currentConfig`) and, with
 *   on-cluster layering, the image it booted (`…/currentImage`); an `osImageURL` or image
 *   other than the release's base OS image (ConfigMap
 *   openshift-machine-config-operator/machine-config-osimageurl, `baseOSContainerImage`)
 *   is a layered image that was not rolled back;
 * - KMM's node labels (`kmm.node.kubernetes.io/…`) still on the node.
 *
 * Module files on the host are not listed: reading the host's module tree takes a
 * privileged pod per node, and none of the methods writes module files outside an
 * image (a layered OS image is caught above).
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';

export const MCO_CURRENT_CONFIG = 'machineconfiguration.openshift.io/currentConfig';
export const MCO_CURRENT_IMAGE = 'machineconfiguration.openshift.io/currentImage';
const KMM_NODE_LABEL = /^kmm\.node\.kubernetes\.io\//;

export interface LeftoverNode {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface LeftoverInput {
  /** The nodes the method targeted. */
  nodes: LeftoverNode[];
  /** Pods still listed in the method's namespaces. */
  pods: K8sObject[];
  /** osImageURL of each rendered MachineConfig a node is on (by name), where it could be read. */
  renderedOsImage: Map<string, string | undefined>;
  /** The release's base OS image, if the cluster says. */
  baseOSImage?: string;
}

/** One line per leftover, `<node>: <what>`, in a stable order. */
export function listLeftovers(i: LeftoverInput): string[] {
  const out: string[] = [];
  for (const pod of i.pods) {
    const phase = (pod as { status?: { phase?: string } }).status?.phase ?? 'unknown phase';
    const node = (pod as { spec?: { nodeName?: string } }).spec?.nodeName ?? 'unscheduled';
    out.push(`${node}: pod ${pod.metadata.namespace}/${pod.metadata.name} (${phase})`);
  }
  for (const n of i.nodes) {
    const image = n.annotations?.[MCO_CURRENT_IMAGE];
    const rendered = n.annotations?.[MCO_CURRENT_CONFIG];
    const url = rendered ? i.renderedOsImage.get(rendered) : undefined;
    const custom = [image, url].find((ref) => ref && i.baseOSImage && ref !== i.baseOSImage);
    if (custom) out.push(`${n.name}: custom OS image ${custom}`);
    for (const label of Object.keys(n.labels ?? {}).filter((l) => KMM_NODE_LABEL.test(l)).sort()) out.push(`${n.name}: node label ${label}`);
  }
  return out;
}
