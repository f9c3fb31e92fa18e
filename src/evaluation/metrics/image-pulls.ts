/**
 * Bytes pulled per node: the kubelet's `Pulled` Events after an actual pull (`image-pull`
 * events). In the lab each carries the bytes the node fetched (its kubelet annotates the
 * Event), as the lab's OS-image pulls do, so the methods compare like for like. A cluster's
 * kubelet reports the image size only: images that share layers are each counted whole, so
 * there the figure is an upper bound of the bytes transferred. An image is counted once per
 * node and scenario: a second pull of the same image on that node (pull policy Always, a pod
 * recreated) finds its layers there and transfers next to nothing, while a cluster's Event
 * repeats the full size.
 * OS images the machine-config daemon pulled count with the blobs the node fetched; the
 * release's own OS image (every node pulls it on an upgrade, with any method or none) is not
 * the method's and is left out.
 */
import { unavailable, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';

export interface ImagePull {
  line: number;
  node: string;
  image: string;
  bytes: number;
  /** `bytes` are what the node fetched (the lab's kubelet and machine-config daemon), not the image size. */
  fetched: boolean;
}

/** The scenario's image pulls, the first per (node, image). */
export function imagePulls(ctx: ScenarioContext): ImagePull[] {
  const seen = new Set<string>();
  const out: ImagePull[] = [];
  for (const e of eventsOf(ctx.seg, 'image-pull')) {
    const image = String(e.data['image']);
    const bytes = e.data['bytes'];
    if (!e.node || typeof bytes !== 'number' || e.data['osImage'] === 'release' || seen.has(`${e.node} ${image}`)) continue;
    seen.add(`${e.node} ${image}`);
    out.push({ line: e.line, node: e.node, image, bytes, fetched: typeof e.data['imageBytes'] === 'number' });
  }
  return out;
}

const NONE =
  'no image pull recorded: no Pulled Event with a size — the kubelet’s in the method’s namespaces, or an OS image’s on a Node (images already present pull nothing; a cluster’s machine-config daemon records no OS-image pull)';

/** Bytes the node pulled in this scenario. */
export function nodeImagePulledBytes(ctx: ScenarioContext, node: string): Measured<number> {
  const reason = unavailable(ctx);
  if (reason) return notMeasured(reason);
  const all = imagePulls(ctx);
  if (all.length === 0) return notMeasured(NONE);
  const mine = all.filter((p) => p.node === node);
  return measured(
    mine.reduce((s, p) => s + p.bytes, 0),
    mine.map((p) => p.line),
    mine.length === 0 ? 'no pull on this node' : undefined,
  );
}

/** The most any one node pulled in this scenario (each node's figure is in the per-node table). */
export function imagePulledBytesPerNode(ctx: ScenarioContext): Measured<number> {
  const reason = unavailable(ctx);
  if (reason) return notMeasured(reason);
  const all = imagePulls(ctx);
  if (all.length === 0) return notMeasured(NONE);
  const per = new Map<string, number>(ctx.nodes.map((n) => [n, 0]));
  for (const p of all) per.set(p.node, (per.get(p.node) ?? 0) + p.bytes);
  const values = [...per.values()];
  const max = Math.max(...values);
  const even = values.every((v) => v === max);
  return measured(max, all.map((p) => p.line), [even ? undefined : `the most on one node; per node: ${[...per].map(([n, v]) => `${n} ${v}`).join(', ')}`, pullBasis(all)].filter(Boolean).join('; '));
}

/** What the pulls' bytes are: all fetched bytes (the lab), or image sizes for some (a cluster's kubelet). */
export function pullBasis(pulls: ImagePull[]): string {
  return pulls.every((p) => p.fetched)
    ? 'the bytes each node fetched (the blobs it did not hold), each image once per node'
    : 'the image size each kubelet pull reported (an upper bound: layers shared with images already on the node count again), each image once per node';
}
