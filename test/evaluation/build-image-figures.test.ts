/** Image figures of builds (the lab's image builds): parsed from `build` events; the image is the largest built, bytes pushed are summed over builds that did work. */
import { describe, expect, it } from 'vitest';
import { buildFigure, buildItems, builtImage } from '../../src/evaluation/metrics/builds.js';
import { scenarioContext } from '../../src/evaluation/metrics/context.js';
import { apply, runOf, runStart, scenario, up, type Ev } from './helpers.js';

const build = (at: number, data: Record<string, unknown>): Ev => ({ at, kind: 'build', data: { kver: '6.1.0-56-amd64', ok: true, ...data } });
const ctxOf = (body: Ev[]) => scenarioContext(runOf([runStart(), up(1, 'b0'), ...scenario('dtk', 'day2', 100, 9000, body), { at: 9001, kind: 'run-end', data: { status: 'completed' } }]), 'dtk' as never, 'day2' as never);

describe('image figures of build events', () => {
  it('imageBytes, layers and bytesPushed are read; cache hits do not add', () => {
    const ctx = ctxOf([
      apply(1000),
      build(2000, { cached: false, wallMs: 20_000, imageBytes: 125_000_000, layers: 3, bytesPushed: 1_000_000 }),
      build(3000, { cached: false, wallMs: 1_400, imageBytes: 2_500, layers: 1, bytesPushed: 2_500 }),
      build(4000, { cached: true, imageBytes: 125_000_000, layers: 3 }),
    ]);
    expect(buildItems(ctx).map((b) => [b.imageBytes, b.layers, b.bytesPushed])).toEqual([
      [125_000_000, 3, 1_000_000],
      [2_500, 1, 2_500],
      [125_000_000, 3, undefined],
    ]);
    expect(builtImage(ctx, 'imageBytes')).toMatchObject({ value: 125_000_000, note: 'the largest of 3 images built' });
    expect(builtImage(ctx, 'layers')).toMatchObject({ value: 3 });
    expect(buildFigure(ctx, 'bytesPushed')).toMatchObject({ value: 1_002_500 });
  });

  it('a build without image figures (a cluster\'s Build: wall time only) says so instead of a number', () => {
    const ctx = ctxOf([apply(1000), build(2000, { cached: false, wallMs: 3_000 })]);
    expect(builtImage(ctx, 'imageBytes')).toMatchObject({ notMeasured: expect.stringContaining('no build recorded its image') });
    expect(buildFigure(ctx, 'bytesPushed')).toMatchObject({ notMeasured: expect.stringContaining('says no bytes pushed') });
    expect(buildFigure(ctx, 'cpuMs')).toMatchObject({ notMeasured: expect.stringContaining('userCpuMs/systemCpuMs') });
  });

  it('a source image (pushed for an in-cluster build to copy from) is not the method\'s image', () => {
    const ctx = ctxOf([apply(1000), build(2000, { cached: true, imageBytes: 2_518, layers: 1, by: 'off-cluster source-image' })]);
    expect(builtImage(ctx, 'imageBytes')).toMatchObject({ notMeasured: expect.stringContaining('only a source image was built') });
    const both = ctxOf([apply(1000), build(2000, { cached: true, imageBytes: 2_518, layers: 1, by: 'off-cluster source-image' }), build(3000, { cached: false, wallMs: 9, imageBytes: 11_602_714, layers: 2 })]);
    expect(builtImage(both, 'imageBytes')).toMatchObject({ value: 11_602_714 });
    expect(builtImage(both, 'imageBytes')).not.toHaveProperty('note');
  });

  it('a failed build has no image', () => {
    const ctx = ctxOf([apply(1000), build(2000, { cached: false, ok: false, wallMs: 3_000, error: 'Failed: DockerBuildFailed' })]);
    expect(builtImage(ctx, 'layers')).toMatchObject({ notMeasured: expect.stringContaining('failed: no image (Failed: DockerBuildFailed)') });
  });

  it('a failed build that carries its figures up to the failure (the lab writes them) counts in the sums; the image is the one that succeeded', () => {
    // A tracking build fired before its source image existed failed; the next one built the image.
    const ctx = ctxOf([
      apply(1000),
      build(2000, { cached: false, ok: false, wallMs: 412, error: 'Failed: DockerBuildFailed', buildahWallMs: 300, userCpuMs: 120, systemCpuMs: 80, peakRssBytes: 30_000_000, bytesPushed: 0 }),
      build(8000, { cached: false, wallMs: 6_000, buildahWallMs: 5_800, userCpuMs: 4_000, systemCpuMs: 1_000, peakRssBytes: 50_000_000, imageBytes: 11_600_000, layers: 2, bytesPushed: 170_000 }),
    ]);
    expect(buildFigure(ctx, 'cpuMs')).toMatchObject({ value: 5_200, note: 'includes 1 failed build(s), up to the failure' });
    expect(buildFigure(ctx, 'peakRssBytes')).toMatchObject({ value: 50_000_000 });
    expect(buildFigure(ctx, 'bytesPushed')).toMatchObject({ value: 170_000 });
    expect(buildFigure(ctx, 'wallMs')).toMatchObject({ value: 6_412 });
    expect(builtImage(ctx, 'imageBytes')).toMatchObject({ value: 11_600_000 });
    // Without them (a cluster's failed Build), the sums are not measured, and say which build lacks them.
    const cluster = ctxOf([apply(1000), build(2000, { cached: false, ok: false, wallMs: 412, error: 'Failed' }), build(8000, { cached: false, wallMs: 6_000, userCpuMs: 4_000, systemCpuMs: 1_000 })]);
    expect(buildFigure(cluster, 'cpuMs')).toMatchObject({ notMeasured: expect.stringContaining('failed after 412 ms') });
  });
});
