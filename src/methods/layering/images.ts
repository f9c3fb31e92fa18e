/**
 * Names of the images and objects the layering method renders: the layered OS image
 * repository (pulled by every node of the pool, so it must live in a registry the nodes
 * can reach with the cluster's global pull secret), its tag, the MachineConfig name.
 */
import type { DriverSpec } from '../../driver/spec.js';
import type { Placeholder } from '../../release/placeholders.js';
import type { Release } from '../../release/release.js';
import { dnsLabel } from '../../names.js';
import { rhcosTagOf } from '../../release/release-info.js';
import type { RenderOptions } from '../method.js';

/** Used when --registry is not given: no in-cluster default works for an OS image. */
export const REGISTRY_PLACEHOLDER: Placeholder = {
  token: 'FILL_ME_REGISTRY',
  meaning: 'the registry and organisation the layered OS image is pushed to and every node pulls it from',
  howToFill:
    're-run kmodlab render --registry <prefix> (e.g. quay.io/acme); the nodes pull with the global pull secret (oc get secret/pull-secret -n openshift-config), so add read credentials for that registry there',
  flag: '--registry',
};
const PLACEHOLDER_REGISTRY = `quay.io/${REGISTRY_PLACEHOLDER.token}`;

export interface LayeringNames {
  /** Registry prefix (e.g. quay.io/acme) or the placeholder prefix. */
  registry: string;
  registryIsPlaceholder: boolean;
  /** `<registry>/<driver>-rhcos`, or the repository of `--layered-image`: the layered OS image repository. */
  osImageRepo: string;
  /** Tag for the off-cluster build: `<driver version>-<ocp version or kernel>`. */
  osImageTag: string;
  /** `<registry>/<driver>-source:<version>`: the source image for on-cluster builds of `source.path` drivers. */
  sourceImage: string;
  /** MachineConfig name, the same for Day 1 and Day 2 so Day-2 updates replace the Day-1 object. */
  machineConfigName: string;
  /** Secret in openshift-machine-config-operator the on-cluster build pushes with. */
  pushSecretName: string;
  /** Copy of the global pull secret in openshift-machine-config-operator (MCO docs name). */
  baseImagePullSecretName: string;
}

export function layeringNames(driver: DriverSpec, release: Release, options: RenderOptions): LayeringNames {
  // A given --layered-image names the repository the image lives in: rebuilds (build.sh)
  // push there too, and without --registry its parent is the registry prefix.
  const layeredRepo = options.layeredImage?.replace(/@sha256:[a-f0-9]{64}$/, '');
  const registry = options.registry ?? (layeredRepo ? layeredRepo.slice(0, layeredRepo.lastIndexOf('/')) : PLACEHOLDER_REGISTRY);
  const tagParts = [driver.version, release.version ?? release.kernelVersion].filter((p): p is string => Boolean(p));
  return {
    registry,
    registryIsPlaceholder: options.registry === undefined && layeredRepo === undefined,
    osImageRepo: layeredRepo ?? `${registry}/${driver.name}-rhcos`,
    osImageTag: tagParts.join('-').replace(/[^\w.-]/g, '_').slice(0, 128),
    sourceImage: `${registry}/${driver.name}-source:${driver.version}`,
    machineConfigName: dnsLabel('99', options.pool, 'kmodlab', driver.name, 'layered'),
    pushSecretName: dnsLabel('kmodlab', driver.name, 'push'),
    baseImagePullSecretName: 'global-pull-secret-copy',
  };
}

/**
 * The `--image-for=` tag of the rendered release's OS image (`rhel-coreos-8` on 4.12,
 * `rhel-coreos` from 4.13), and a note for commands when the release is unknown.
 */
export function rhcosImageFor(release: Release): { tag: string; note: string } {
  const tag = rhcosTagOf(release);
  if (tag) return { tag, note: '' };
  return { tag: 'rhel-coreos', note: '(rhel-coreos-8 on 4.12)' };
}
