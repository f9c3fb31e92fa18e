/**
 * The evaluation's rows: one per method variant, one naming scheme. The default
 * variant's row keeps the method's id (so runs recorded before variants were rows still
 * read), the others are `<method>-<variant>`; every variant of every method has exactly one.
 */
import { describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { allMethods } from '../../src/methods/index.js';
import { METHOD_ROW_IDS, isMethodRowId, methodRow, rowIdOf } from '../../src/methods/rows.js';
import { METHOD_IDS } from '../../src/artifacts/artifact-set.js';
import { EventEnvelopeSchema, EVENT_DATA } from '../../src/evaluation/events.js';

describe('method rows', () => {
  it('are exactly the variants of the registered methods, default variant first under the method id', () => {
    const expected = allMethods().flatMap((m) => m.variants.map((v, i) => (i === 0 ? m.id : `${m.id}-${v}`)));
    expect([...METHOD_ROW_IDS].sort()).toEqual([...expected].sort());
    for (const m of allMethods()) {
      m.variants.forEach((v, i) => {
        const id = rowIdOf(m.id, v);
        expect(id, `${m.id} ${v}`).toBe(i === 0 ? m.id : `${m.id}-${v}`);
        expect(methodRow(id!)).toMatchObject({ id, method: m.id, variant: v });
      });
    }
  });

  it('the five rows the evaluation runs by default', () => {
    expect(METHOD_ROW_IDS).toEqual(['layering', 'layering-on-cluster', 'dtk', 'dtk-tracking', 'kmm']);
    expect(methodRow('layering-on-cluster')).toEqual({ id: 'layering-on-cluster', method: 'layering', variant: 'on-cluster', needsOpenShiftVersion: true });
    expect(methodRow('dtk-tracking')).toEqual({ id: 'dtk-tracking', method: 'dtk', variant: 'tracking' });
  });

  it('the old method ids are rows (old run directories read), unknown names are not', () => {
    for (const id of METHOD_IDS) expect(isMethodRowId(id)).toBe(true);
    expect(isMethodRowId('dtk-pinned')).toBe(false);
    expect(isMethodRowId('tracking')).toBe(false);
    expect(rowIdOf('dtk', 'no-such-variant')).toBeUndefined();
  });

  it('events carry the row id as `method`; render events name the delivery method and variant', () => {
    const ev = (method: string) => EventEnvelopeSchema.safeParse({ t: 1, source: 'kmodlab', kind: 'progress', method, data: {} }).success;
    expect(ev('dtk-tracking')).toBe(true);
    expect(ev('dtk')).toBe(true);
    expect(ev('dtk-pinned')).toBe(false);
    expect(EVENT_DATA.render.safeParse({ method: 'dtk', variant: 'tracking', day1: false }).success).toBe(true);
    expect(EVENT_DATA.render.safeParse({ method: 'dtk-tracking', variant: 'tracking', day1: false }).success).toBe(false);
    expect(EVENT_DATA['run-start'].shape.methods.safeParse(['layering-on-cluster', 'kmm']).success).toBe(true);
  });
});

describe('manual steps per row (day 2, the reference driver: source from a directory)', async () => {
  const { manualStepsOf } = await import('../../src/artifacts/manual-steps.js');
  const { renderMethods } = await import('../../src/methods/render.js');
  const { loadDriver } = await import('../../src/driver/load.js');
  const { REFERENCE_DRIVER_FILE } = await import('../../src/driver/reference.js');
  const driver = (await loadDriver(REFERENCE_DRIVER_FILE)).spec;
  const release = { version: '4.19.3', kernelVersion: '5.14.0-570.12.1.el9_6.x86_64', osFamily: 'rhcos' as const, sources: {} };
  const steps = (id: (typeof METHOD_ROW_IDS)[number]) => {
    const { method, variant } = methodRow(id);
    return manualStepsOf(renderMethods(driver, release, method, { variant, registry: method === 'layering' ? 'quay.io/acme' : undefined })[0]!, 'day2').map((s) => s.description);
  };
  it('on-cluster layering: no off-cluster image build, but the source image the in-cluster build copies from is pushed by you', () => {
    expect(steps('layering-on-cluster')).toEqual(['build and push the source image <source image>: the in-cluster build copies the driver source from it']);
    expect(steps('layering')).toEqual([expect.stringMatching(/^run build\.sh/)]);
  });
  it('dtk: both variants start the binary build with the driver source', () => {
    expect(steps('dtk')).toEqual([expect.stringMatching(/^start the binary build simple-kmod-driver-build/)]);
    expect(steps('dtk-tracking')).toEqual([expect.stringMatching(/^start the binary build simple-kmod-driver-source-build/)]);
  });
});
