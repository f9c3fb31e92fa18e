/**
 * The lab release of one kernel in the shape of `oc adm release info -o json
 * --include-images` (openshift/oc pkg/cli/admin/release/info.go: ReleaseInfo with
 * `metadata`, `references` — an image.openshift.io/v1 ImageStream whose spec.tags name
 * each component image — `displayVersions` and `images.<tag>.config`), so that
 * `kmodlab render --release-info` (src/release/release-info.ts) reads a lab release the
 * way it reads a cluster's:
 *
 * - `rhel-coreos` → the node OS image, with its kernel in the `ostree.linux` label;
 * - `driver-toolkit` → the driver-toolkit image, labelled `kernel-version`;
 * - `runtime-base` → the minimal runtime base (no OpenShift release carries ubi-minimal;
 *   the lab names its counterpart so renderers can find it);
 * - the image stream annotation `io.kmodlab.os-family: debian-lab` → renderers write the
 *   lab's Debian family lines (src/methods/os-family.ts). An annotation of the release,
 *   not an image label: the images need no rebuild for it, and no OpenShift release
 *   carries it, so theirs stay rhcos.
 *
 * There is no OpenShift version: `metadata.version` is left out rather than invented.
 * `machine-os` is the OS image's own tag (the lab's OS build id).
 */
import { ANNOTATION_OS_FAMILY } from '../../../release/release-info.js';
import type { OsFamilyId } from '../../../release/release.js';
import type { ReleaseImage } from './release-images.js';

/**
 * The version string of a lab release (ClusterVersion's desired/history/availableUpdates
 * and the machine-config-osimageurl ConfigMap's releaseVersion): its kernel release, the
 * one thing that tells lab releases apart — there is no OpenShift version to borrow.
 */
export const labReleaseVersion = (kver: string): string => kver;

/** The OS family of every lab release's nodes. */
export const LAB_OS_FAMILY: OsFamilyId = 'debian-lab';

export interface LabReleaseImages {
  kver: string;
  os: ReleaseImage;
  driverToolkit: ReleaseImage;
  runtimeBase: ReleaseImage;
}

function tag(name: string, image: ReleaseImage, annotations: Record<string, string> = {}) {
  return {
    name,
    annotations: { 'io.kmodlab.repository-tag': image.ref, ...annotations },
    from: { kind: 'DockerImage', name: image.digestRef },
    generation: null,
    importPolicy: {},
    referencePolicy: { type: 'Source' },
  };
}

function imageEntry(image: ReleaseImage, labels: Record<string, string>) {
  return {
    name: image.digestRef,
    digest: image.digest,
    contentDigest: image.digest,
    listDigest: '',
    config: { architecture: 'amd64', os: 'linux', config: { Labels: labels } },
  };
}

export function labReleaseInfo(r: LabReleaseImages): Record<string, unknown> {
  for (const i of [r.os, r.driverToolkit, r.runtimeBase]) {
    if (!i.digestRef) throw new Error(`lab release ${r.kver}: image ${i.ref} is not in the registry`);
  }
  const machineOs = r.os.tag;
  return {
    image: r.os.digestRef,
    digest: r.os.digest,
    metadata: { kind: 'cincinnati-metadata-v0' },
    references: {
      kind: 'ImageStream',
      apiVersion: 'image.openshift.io/v1',
      metadata: { name: `lab-${r.kver}`, annotations: { 'io.kmodlab.lab-kernel': r.kver, [ANNOTATION_OS_FAMILY]: LAB_OS_FAMILY } },
      spec: {
        lookupPolicy: { local: false },
        tags: [
          tag('rhel-coreos', r.os, { 'io.openshift.build.versions': `machine-os=${machineOs}` }),
          tag('driver-toolkit', r.driverToolkit),
          tag('runtime-base', r.runtimeBase),
        ],
      },
    },
    displayVersions: { 'machine-os': { Version: machineOs, DisplayName: `kmodlab lab node OS (Debian, kernel ${r.kver})` } },
    images: {
      'rhel-coreos': imageEntry(r.os, { 'ostree.linux': r.kver, 'io.kmodlab.role': 'node-os' }),
      'driver-toolkit': imageEntry(r.driverToolkit, { 'kernel-version': r.kver, 'io.kmodlab.role': 'driver-toolkit' }),
      'runtime-base': imageEntry(r.runtimeBase, { 'io.kmodlab.role': 'runtime-base' }),
    },
  };
}
