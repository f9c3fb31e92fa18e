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
