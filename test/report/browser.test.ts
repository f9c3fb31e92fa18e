/**
 * report.html in a real browser: Debian's chromium driven by playwright-core (no
 * browser download; `.ci/run` installs chromium). Charts must render, the page must
 * load nothing from the network and log no errors, and every figure shown must equal
 * the one in report.json.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIO_METRICS } from '../../src/evaluation/metrics/catalog.js';
import { cellWithMarks, formatMeasured, formatSigned } from '../../src/report/format.js';
import { NOT_MEASURED_AS_ABOVE } from '../../src/report/html/page.js';
import { metricAt, resultOf } from '../../src/report/model.js';
import { reportFixture } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env['KMODLAB_SCREENSHOT_DIR'] ?? path.join(tmpdir(), 'kmodlab-report-shots');
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (.ci/run does)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

const unitOf = new Map(SCENARIO_METRICS.map((m) => [m.id, m.unit]));

describe.each(['complete', 'interrupted', 'lab-baseline'] as const)('report.html of the %s run', (name) => {
  const r = reportFixture(name);

  async function open() {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Self-contained: the only request is the page itself.
    page.on('request', (req) => {
      if (req.url() !== pathToFileURL(r.files.html).href) problems.push(`request: ${req.url()}`);
    });
    await page.goto(pathToFileURL(r.files.html).href, { waitUntil: 'load' });
    return { page, problems };
  }

  it('loads with no console error and no network request', async () => {
    const { page, problems } = await open();
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
  });

  it('charts and timelines render with non-zero size', async () => {
    const { page } = await open();
    const svgs = await page.$$eval('svg.chart, svg.timeline', (els) =>
      els.map((e) => ({ cls: e.getAttribute('class'), w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height, shapes: e.querySelectorAll('rect, path, circle').length })),
    );
    const bars = await page.$$eval('svg.chart g.bar:not(.not-measured) rect', (els) => els.map((e) => e.getBoundingClientRect().width * e.getBoundingClientRect().height));
    await page.close();
    expect(svgs.filter((s) => s.cls?.includes('chart'))).toHaveLength(3);
    expect(svgs.filter((s) => s.cls === 'timeline').length).toBe(name === 'interrupted' ? 2 : 3);
    for (const s of svgs) {
      expect(s.w, s.cls ?? '').toBeGreaterThan(200);
      expect(s.h, s.cls ?? '').toBeGreaterThan(60);
      expect(s.shapes).toBeGreaterThan(3);
    }
    expect(bars.length).toBeGreaterThan(5);
    for (const a of bars) expect(a).toBeGreaterThan(0);
  });

  it('every figure on the page equals report.json', async () => {
    const { page } = await open();
    const shown = await page.$$eval('[data-metric]', (els) =>
      els.map((e) => ({ tag: e.tagName.toLowerCase(), path: e.getAttribute('data-metric')!, value: e.getAttribute('data-value'), nm: e.getAttribute('data-not-measured'), text: e.textContent ?? '' })),
    );
    await page.close();
    // Attributable figures are shown (one row each) where the run has a baseline for the scenario.
    const hasBaseline = (s: string) => r.report.results.some((x) => x.method === 'baseline' && x.scenario === s);
    const cellCount = r.report.results.reduce((n, x) => n + Object.keys(x.metrics).length + (hasBaseline(x.scenario) ? Object.keys(x.attributable ?? {}).length : 0), 0);
    expect(shown.filter((s) => s.tag === 'td')).toHaveLength(cellCount);
    expect(shown.filter((s) => s.tag === 'g').length).toBeGreaterThanOrEqual(r.report.scenarios.length * r.report.methods.length);
    for (const s of shown) {
      const m = metricAt(r.report, s.path);
      expect(m, s.path).toBeDefined();
      if (s.value !== null) {
        expect(m, s.path).toHaveProperty('value');
        expect(JSON.parse(s.value), s.path).toEqual((m as { value: unknown }).value);
      } else {
        expect(s.nm, s.path).toBe((m as { notMeasured: string }).notMeasured);
      }
      if (s.tag !== 'td') continue;
      const [method, scenario, metric, sub] = s.path.split('.') as [string, string, string, string | undefined];
      if (metric === 'attributable') {
        expect(s.text, s.path).toBe(formatSigned(unitOf.get(sub!)!, m));
        continue;
      }
      const asAbove = s.nm !== null && s.nm === resultOf(r.report, method, scenario)?.reason;
      expect(s.text, s.path).toBe(asAbove ? NOT_MEASURED_AS_ABOVE : formatMeasured(unitOf.get(metric)!, m));
    }
  });

  it('the page opens with the verdict, in report.json’s order', async () => {
    const { page } = await open();
    const firstCard = await page.$eval('main section.card', (e) => e.id);
    const order = await page.$$eval('ol.verdict > li', (els) => els.map((e) => e.getAttribute('data-verdict-method')));
    await page.close();
    expect(firstCard).toBe('verdict');
    expect(order).toEqual(r.report.verdict.ranking.map((x) => x.method));
  });

  it('the summary table on the page is report.json’s, with its caption and footnotes', async () => {
    const { page } = await open();
    const head = await page.$$eval('table.summary thead th', (els) => els.map((e) => e.textContent));
    const caption = await page.$eval('table.summary caption', (e) => e.textContent);
    const rows = await page.$$eval('table.summary tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    const notes = await page.$$eval('ol.footnotes li', (els) => els.map((e) => e.textContent));
    // A footnote mark leads to its note.
    const firstMark = await page.$$eval('table.summary a.fn', (as) => as.slice(0, 1).map((a) => a.getAttribute('href')));
    await page.close();
    expect(head).toEqual(r.report.summary.columns);
    expect(caption).toBe(r.report.summary.caption);
    expect(rows).toEqual(r.report.summary.rows.map((x) => x.cells.map((c) => cellWithMarks(c))));
    expect(notes).toEqual(r.report.summary.footnotes);
    if (notes.length) expect(firstMark[0]).toMatch(/^#note-\d+$/);
  });
});
