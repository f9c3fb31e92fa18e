/**
 * report.json is a published contract: it validates against the JSON Schema kmodlab
 * publishes (`kmodlab report --print-schema`, report.schema.json next to it), checked
 * here with an independent validator (Ajv, draft 2020-12).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { REPORT_SCHEMA_FILE, REPORT_SCHEMA_VERSION, ReportSchema, metricAt, reportJsonSchema } from '../../src/report/model.js';
import { reportFixture } from './support.js';

function validator() {
  const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
  (addFormats as unknown as typeof addFormats.default)(ajv);
  return ajv.compile(reportJsonSchema());
}

describe.each(['complete', 'interrupted'] as const)('report.json of the %s run', (name) => {
  const r = reportFixture(name);
  const json = JSON.parse(readFileSync(r.files.json, 'utf8'));

  it('validates against the published JSON Schema', () => {
    const validate = validator();
    const ok = validate(json);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('carries $schema and schemaVersion; the schema file sits next to it', () => {
    expect(json.$schema).toBe(REPORT_SCHEMA_FILE);
    expect(json.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    const written = JSON.parse(readFileSync(path.join(r.dir, REPORT_SCHEMA_FILE), 'utf8'));
    expect(written).toEqual(JSON.parse(JSON.stringify(reportJsonSchema())));
  });

  it('the zod model rejects a row with a missing cell or a footnote that does not exist', () => {
    const short = structuredClone(json);
    short.summary.rows[0].cells.pop();
    expect(ReportSchema.safeParse(short).success).toBe(false);
    const dangling = structuredClone(json);
    dangling.summary.rows[0].cells[1].notes = [dangling.summary.footnotes.length + 1];
    expect(ReportSchema.safeParse(dangling).success).toBe(false);
  });

  it('round-trips through the zod model', () => {
    expect(ReportSchema.parse(json)).toEqual(json);
  });

  it('every metric is a value with its event lines, or not measured with a reason', () => {
    for (const res of json.results) {
      for (const m of [...Object.values(res.metrics), ...Object.values(res.nodes).flatMap((n) => Object.values(n as object))] as Record<string, unknown>[]) {
        if ('notMeasured' in m) expect(String(m['notMeasured']).length).toBeGreaterThan(3);
        else expect(m).toHaveProperty('from');
      }
    }
  });
});

describe('the schema rejects what breaks the contract', () => {
  const r = reportFixture('complete');
  const validate = validator();
  it.each([
    ['a metric with neither value nor reason', (j: any) => void (j.results[0].metrics.success = { from: [] })],
    ['an empty not-measured reason', (j: any) => void (j.results[0].metrics.success = { notMeasured: '' })],
    ['a summary without its caption', (j: any) => void delete j.summary.caption],
    ['a summary cell without its footnote list', (j: any) => void delete j.summary.rows[0].cells[2].notes],
    ['an empty summary cell', (j: any) => void (j.summary.rows[0].cells[2].text = '')],
    ['an unknown method', (j: any) => void (j.results[0].method = 'magic')],
  ])('%s', (_n, mutate) => {
    const j = structuredClone(r.report) as any;
    mutate(j);
    expect(validate(j)).toBe(false);
  });

  it('metricAt finds a metric by its data-metric path', () => {
    expect(metricAt(r.report, 'dtk.upgrade.podRestarts')).toMatchObject({ value: 4 });
  });
});
