/**
 * Placeholders for facts kmodlab does not know. They are valid where they are used
 * (label values, image references, build args), easy to grep, and every artifact set
 * lists the ones it used with the command that finds the real value.
 */
import type { Release } from './release.js';

export interface Placeholder {
  token: string;
  meaning: string;
  howToFill: string;
  /** The `kmodlab render` flag that supplies the value (`-o` names it when it refuses). */
  flag: string;
}

export const PLACEHOLDERS = {
  kernelVersion: {
    token: 'FILL_ME_KERNEL_VERSION',
    meaning: "the release's RHCOS kernel version (uname -r on a node)",
    howToFill:
      'oc debug node/<node> -- chroot /host uname -r   (or: the ostree.linux label of the rhel-coreos image in `oc adm release info <release> -o json --include-images`, or KERNEL_VERSION in /etc/driver-toolkit-release.json of the driver-toolkit image); then re-run kmodlab render --kernel <version>',
    flag: '--kernel (or --release-info from `oc adm release info -o json --include-images`)',
  },
  driverToolkitImage: {
    token: 'quay.io/FILL_ME/driver-toolkit:FILL_ME_DRIVER_TOOLKIT_IMAGE',
    meaning: "the release's driver-toolkit image, pinned by digest",
    howToFill: 'oc adm release info <release> --image-for=driver-toolkit; then re-run kmodlab render --dtk-image <pullspec>',
    flag: '--dtk-image (or --release-info)',
  },
  rhcosImage: {
    token: 'quay.io/FILL_ME/rhel-coreos:FILL_ME_RHCOS_IMAGE',
    meaning: "the release's rhel-coreos base OS image, pinned by digest",
    howToFill: 'oc adm release info <release> --image-for=rhel-coreos   (rhel-coreos-8 on 4.12); then re-run kmodlab render --rhcos-image <pullspec>',
    flag: '--rhcos-image (or --release-info)',
  },
  runtimeBaseImage: {
    token: 'quay.io/FILL_ME/runtime-base:FILL_ME_RUNTIME_BASE_IMAGE',
    meaning: "the release's runtime base image (with kmod) for driver containers, pinned by digest (debian-lab releases)",
    howToFill: 'kmodlab lab images (the runtime-base image); then re-run kmodlab render --release-info <(kmodlab lab release-info <kernel>)',
    flag: '--release-info (from `kmodlab lab release-info <kernel>`)',
  },
  layeredImageDigest: {
    token: 'FILL_ME_LAYERED_IMAGE_DIGEST',
    meaning: 'the digest of the layered OS image you built and pushed',
    howToFill:
      'podman push ... --digestfile digest.txt (or skopeo inspect docker://<image> | jq -r .Digest) after building the Containerfile; then re-run kmodlab render --layered-image <repository>@sha256:<digest>',
    flag: '--layered-image',
  },
  ocpVersion: {
    token: 'FILL_ME_OCP_VERSION',
    meaning: 'the OpenShift version',
    howToFill: 'oc get clusterversion version -o jsonpath={.status.desired.version}; then re-run kmodlab render --ocp-version <version>',
    flag: '--ocp-version (or --release-info)',
  },
} as const satisfies Record<string, Placeholder>;

export type PlaceholderKey = keyof typeof PLACEHOLDERS;

/** Looks up release facts, recording which placeholders had to be used. */
export class ReleaseFacts {
  readonly used = new Set<PlaceholderKey>();
  constructor(readonly release: Release) {}

  private orPlaceholder(value: string | undefined, key: PlaceholderKey): string {
    if (value !== undefined) return value;
    this.used.add(key);
    return PLACEHOLDERS[key].token;
  }
  get kernelVersion(): string {
    return this.orPlaceholder(this.release.kernelVersion, 'kernelVersion');
  }
  get driverToolkitImage(): string {
    return this.orPlaceholder(this.release.driverToolkitImage, 'driverToolkitImage');
  }
  get rhcosImage(): string {
    return this.orPlaceholder(this.release.rhcosImage, 'rhcosImage');
  }
  get runtimeBaseImage(): string {
    return this.orPlaceholder(this.release.runtimeBaseImage, 'runtimeBaseImage');
  }
  get version(): string {
    return this.orPlaceholder(this.release.version, 'ocpVersion');
  }
  /** Marks a placeholder as used without reading a release fact. */
  use(key: PlaceholderKey): string {
    this.used.add(key);
    return PLACEHOLDERS[key].token;
  }
  placeholders(): Placeholder[] {
    return [...this.used].map((k) => PLACEHOLDERS[k]);
  }
}

/**
 * Marks placeholder tokens in a line meant for people (progress), so a rendered
 * placeholder such as `quay.io/FILL_ME_REGISTRY/…` does not read like a real value or an error.
 */
export function markPlaceholders(line: string): string {
  return line.replace(/\S*FILL_ME\S*/g, (t) => `${t} (placeholder, not a real value)`);
}
