/** Bytes pulled per node, from image-pull events (the kubelet's Pulled Events): each image once per node and scenario. */
import { describe, expect, it } from 'vitest';
import { scenarioContext } from '../../src/evaluation/metrics/context.js';
import { imagePulledBytesPerNode, nodeImagePulledBytes } from '../../src/evaluation/metrics/image-pulls.js';
import { apply, runOf, runStart, scenario, up, type Ev } from './helpers.js';

const pull = (at: number, node: string, image: string, bytes: number): Ev => ({ at, kind: 'image-pull', node, data: { image, bytes } });
const ctxOf = (body: Ev[]) =>
  scenarioContext(
    runOf([runStart({ nodes: ['n1', 'n2'] }), up(1, 'b1', undefined, 'n1'), up(1, 'b2', undefined, 'n2'), ...scenario('dtk', 'day2', 100, 9000, body), { at: 9001, kind: 'run-end', data: { status: 'completed' } }]),
    'dtk' as never,
    'day2' as never,
  );

describe('image bytes pulled per node', () => {
  it('sums per node, counts an image once per node, and reports the most one node pulled', () => {
    const ctx = ctxOf([apply(1000), pull(2000, 'n1', 'r/d@sha256:1', 12_000_000), pull(2100, 'n1', 'r/base@sha256:2', 3_000_000), pull(2200, 'n2', 'r/d@sha256:1', 12_000_000), pull(5000, 'n1', 'r/d@sha256:1', 12_000_000)]);
    expect(nodeImagePulledBytes(ctx, 'n1')).toMatchObject({ value: 15_000_000 });
    expect(nodeImagePulledBytes(ctx, 'n2')).toMatchObject({ value: 12_000_000 });
    expect(imagePulledBytesPerNode(ctx)).toMatchObject({
      value: 15_000_000,
      note: 'the most on one node; per node: n1 15000000, n2 12000000; the image size each kubelet pull reported (an upper bound: layers shared with images already on the node count again), each image once per node',
    });
  });

  it("the lab's pulls (the image size beside the fetched bytes) say they are the bytes fetched", () => {
    const fetched = (at: number, node: string, image: string, bytes: number): Ev => ({ at, kind: 'image-pull', node, data: { image, bytes, imageBytes: 12_000_000 } });
    const ctx = ctxOf([apply(1000), fetched(2000, 'n1', 'r/d@sha256:1', 1_000_000), fetched(2200, 'n2', 'r/d@sha256:1', 1_000_000)]);
    expect(imagePulledBytesPerNode(ctx)).toMatchObject({ value: 1_000_000, note: 'the bytes each node fetched (the blobs it did not hold), each image once per node' });
    // One pull that gave only its size makes the figure an upper bound again.
    const mixed = ctxOf([apply(1000), fetched(2000, 'n1', 'r/d@sha256:1', 1_000_000), pull(2200, 'n2', 'r/d@sha256:1', 12_000_000)]);
    expect(imagePulledBytesPerNode(mixed)).toMatchObject({ note: expect.stringMatching(/upper bound/) });
  });

  it('no Pulled Event at all is not a zero', () => {
    const ctx = ctxOf([apply(1000)]);
    expect(imagePulledBytesPerNode(ctx)).toMatchObject({ notMeasured: expect.stringContaining('no image pull recorded') });
    expect(nodeImagePulledBytes(ctx, 'n1')).toMatchObject({ notMeasured: expect.stringContaining('no image pull recorded') });
  });
});
