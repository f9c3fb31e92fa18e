/** Writes report.md, report.json (+ its schema) and report.html into a run directory. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readRun, type RunRecord } from '../evaluation/read-run.js';
import { buildReport, type BuildOptions } from './build.js';
import { renderHtml } from './html/page.js';
import { renderMarkdown } from './markdown.js';
import { REPORT_SCHEMA_FILE, reportJsonSchema, type Report } from './model.js';

export const REPORT_FORMATS = ['md', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface WrittenReport {
  report: Report;
  run: RunRecord;
  files: Record<ReportFormat, string>;
  texts: Record<ReportFormat, string>;
}

export function renderAll(run: RunRecord, report: Report): Record<ReportFormat, string> {
  return {
    md: renderMarkdown(report),
    json: `${JSON.stringify(report, null, 2)}\n`,
    html: renderHtml(report, run),
  };
}

export function writeReports(runDir: string, options: BuildOptions = {}): WrittenReport {
  const run = readRun(runDir);
  const report = buildReport(run, options);
  const texts = renderAll(run, report);
  const files = {
    md: path.join(runDir, 'report.md'),
    json: path.join(runDir, 'report.json'),
    html: path.join(runDir, 'report.html'),
  };
  for (const f of ['md', 'json', 'html'] as const) writeFileSync(files[f], texts[f]);
  writeFileSync(path.join(runDir, REPORT_SCHEMA_FILE), `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
  return { report, run, files, texts };
}
