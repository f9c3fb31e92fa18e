/**
 * The kubelet's `Pulled` Event, one wording for the writer (the lab's kubelet) and the
 * reader (the cluster target's event observer), as k8s.io/kubernetes
 * pkg/kubelet/images/image_manager.go EnsureImageExists records it (v1.28+):
 *   - after a pull: `Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.`
 *     — the pull's duration and the time since the pull was asked for (Go time.Duration,
 *     truncated to the millisecond), and the image size the runtime reports;
 *   - when the pull policy lets the node use what it holds: `Container image %q already present on machine`.
 * Both have reason `Pulled`, type Normal, the Pod as involved object and the node as source.host.
 */

export const PULLED_REASON = 'Pulled';

/** A Go time.Duration truncated to the millisecond, as `%v` prints it: `0s`, `150ms`, `15.981s`, `1m2.5s`, `1h0m0s`. */
export function goDuration(ms: number): string {
  const t = Math.max(0, Math.trunc(ms));
  if (t === 0) return '0s';
  if (t < 1000) return `${t}ms`;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const rest = t % 60_000;
  const frac = String(rest % 1000).padStart(3, '0').replace(/0+$/, '');
  const s = `${Math.floor(rest / 1000)}${frac ? `.${frac}` : ''}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

/** Parses a Go duration (`1m2.5s`, `150ms`) to milliseconds; undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '0s') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

/** The message of a `Pulled` Event after an actual pull. */
export function pulledMessage(image: string, pullMs: number, totalMs: number, sizeBytes: number): string {
  return `Successfully pulled image ${JSON.stringify(image)} in ${goDuration(pullMs)} (${goDuration(totalMs)} including waiting). Image size: ${sizeBytes} bytes.`;
}

/**
 * The bytes a lab node fetched for a kubelet pull (the blobs it did not hold yet), on the
 * lab kubelet's `Pulled` Event as an annotation: the message stays the kubelet's own wording,
 * which says only the image size. With it, container-image pulls count the bytes the node
 * fetched, as the lab's OS-image pulls do; a cluster's kubelet sets none, so its figure is
 * the image size (an upper bound of what the node fetched).
 */
export const PULLED_BYTES_ANNOTATION = 'lab.kmodlab.io/pulled-bytes';

/** The message of a `Pulled` Event when no pull was needed. */
export function alreadyPresentMessage(image: string): string {
  return `Container image ${JSON.stringify(image)} already present on machine`;
}

export interface ParsedPull {
  image: string;
  pullMs: number;
  totalMs: number;
  sizeBytes: number;
}

const PULLED = /^Successfully pulled image "((?:[^"\\]|\\.)*)" in (\S+) \((\S+) including waiting\)\. Image size: (\d+) bytes\.$/;

/** A `Pulled` message after an actual pull, parsed; undefined for any other message (an "already present", an older kubelet's wording without the size). */
export function parsePulledMessage(message: string): ParsedPull | undefined {
  const m = PULLED.exec(message.trim());
  if (!m) return undefined;
  const pullMs = parseGoDuration(m[2]!);
  const totalMs = parseGoDuration(m[3]!);
  if (pullMs === undefined || totalMs === undefined) return undefined;
  return { image: JSON.parse(`"${m[1]}"`) as string, pullMs, totalMs, sizeBytes: Number(m[4]) };
}

/**
 * The lab's machine-config daemon pulling a node's OS image (an rpm-ostree rebase to a
 * container image on RHCOS): a `Pulled` Event on the Node, once per image digest per node.
 * The MCD of a cluster records no such Event (its pulls are in the daemon's log), so on a
 * cluster OS-image bytes stay unmeasured. `pulledBytes`: the image's blobs the node did not
 * hold yet (a layered image shares its base image's layers with what the node booted);
 * `sizeBytes`: the whole image as the registry stores it. `source`: `osImageURL` (a
 * MachineConfig's image: the method's) or the release's own OS image (what every node
 * pulls on an upgrade, whatever the method).
 */
export type OsImageSource = 'osImageURL' | 'release';

export function osImagePulledMessage(image: string, pullMs: number, pulledBytes: number, sizeBytes: number, source: OsImageSource): string {
  return `Successfully pulled OS image ${JSON.stringify(image)} (${source}) in ${goDuration(pullMs)}. Bytes pulled: ${pulledBytes}. Image size: ${sizeBytes} bytes.`;
}

export interface ParsedOsPull {
  image: string;
  source: OsImageSource;
  pullMs: number;
  pulledBytes: number;
  sizeBytes: number;
}

const OS_PULLED = /^Successfully pulled OS image "((?:[^"\\]|\\.)*)" \((osImageURL|release)\) in (\S+)\. Bytes pulled: (\d+)\. Image size: (\d+) bytes\.$/;

/** An OS-image `Pulled` message, parsed; undefined for any other message. */
export function parseOsImagePulledMessage(message: string): ParsedOsPull | undefined {
  const m = OS_PULLED.exec(message.trim());
  if (!m) return undefined;
  const pullMs = parseGoDuration(m[3]!);
  if (pullMs === undefined) return undefined;
  return { image: JSON.parse(`"${m[1]}"`) as string, source: m[2] as OsImageSource, pullMs, pulledBytes: Number(m[4]), sizeBytes: Number(m[5]) };
}
