/**
 * Metrics over the complete fixture run (3 methods × 5 scenarios on one lab node):
 * what each method is known to do, read back from the events.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRun } from '../../src/evaluation/read-run.js';
import { deriveRun, type ScenarioMetrics } from '../../src/evaluation/metrics/index.js';

const run = readRun(path.resolve(import.meta.dirname, '../fixtures/runs/complete'));
const all = deriveRun(run);
const get = (m: string, s: string) => all.find((x) => x.method === m && x.scenario === s)!;
const value = (m: string, s: string, metric: string) => {
  const v = get(m, s).metrics[metric];
  if (!v || !('value' in v)) throw new Error(`${m}.${s}.${metric} not measured: ${v ? v.notMeasured : 'absent'}`);
  return v.value;
};
const reason = (m: string, s: string, metric: string) => {
  const v = get(m, s).metrics[metric];
  if (!v || !('notMeasured' in v)) throw new Error(`${m}.${s}.${metric} was measured`);
  return v.notMeasured;
};

describe('complete run: every planned (method, scenario) completed', () => {
  it('15 results, all completed', () => {
    expect(all).toHaveLength(15);
    expect(all.every((r) => r.status === 'completed')).toBe(true);
  });
});

describe.each<[string, string, string, unknown]>([
  // Day 1: layering boots stock, rebases, reboots once; DTK and KMM load in the first boot.
  ['layering', 'day1', 'success', true],
  ['layering', 'day1', 'loadedAtFirstBoot', false],
  ['layering', 'day1', 'reboots', 1],
  ['dtk', 'day1', 'loadedAtFirstBoot', true],
  ['dtk', 'day1', 'reboots', 0],
  ['kmm', 'day1', 'loadedAtFirstBoot', true],
  ['kmm', 'day1', 'reboots', 0],
  // Day 2: layering needs a reboot; DTK/KMM do not.
  ['layering', 'day2', 'reboots', 1],
  ['dtk', 'day2', 'reboots', 0],
  ['kmm', 'day2', 'reboots', 0],
  ['dtk', 'day2', 'buildCachedCount', 1],
  ['kmm', 'day2', 'buildCount', 1],
  ['kmm', 'day2', 'buildCachedCount', 0],
  // Upgrade: layering keeps the old OS, DTK crash-loops on the new kernel, KMM rebuilds.
  ['layering', 'upgrade', 'success', false],
  ['layering', 'upgrade', 'nodesWithDriver', 1],
  ['layering', 'upgrade', 'nodesLeftOnOldRelease', 1],
  ['layering', 'upgrade', 'manualSteps', 1],
  ['layering', 'upgrade', 'reboots', 0],
  ['dtk', 'upgrade', 'success', false],
  ['dtk', 'upgrade', 'nodesWithDriver', 0],
  ['dtk', 'upgrade', 'nodesLeftOnOldRelease', 0],
  ['dtk', 'upgrade', 'podRestarts', 4],
  ['dtk', 'upgrade', 'manualSteps', 1],
  ['dtk', 'upgrade', 'reboots', 1],
  ['kmm', 'upgrade', 'success', true],
  ['kmm', 'upgrade', 'manualSteps', 0],
  ['kmm', 'upgrade', 'buildCount', 2],
  ['kmm', 'upgrade', 'nodesLeftOnOldRelease', 0],
  ['kmm', 'kernel-switch', 'success', true],
  ['layering', 'kernel-switch', 'success', false],
  ['layering', 'kernel-switch', 'nodesLeftOnOldRelease', 0],
  ['dtk', 'kernel-switch', 'podRestarts', 4],
  // Uninstall: unloaded everywhere; layering needs a reboot to get rid of it.
  ['layering', 'uninstall', 'success', true],
  ['layering', 'uninstall', 'reboots', 1],
  ['dtk', 'uninstall', 'success', true],
  ['dtk', 'uninstall', 'reboots', 0],
  ['kmm', 'uninstall', 'success', true],
  // Resident components: none for layering (observed: node sampled, no pod), a ~1 MB pod for DTK.
  ['layering', 'day2', 'memoryBytes', 0],
  ['layering', 'day2', 'cpuShare', 0],
  ['dtk', 'uninstall', 'memoryBytes', 0],
  // What the kernel says about the module.
  ['dtk', 'day2', 'moduleCoreSizeBytes', 16384 + 12288],
  ['dtk', 'day2', 'moduleTaint', 'OE'],
  ['kmm', 'day2', 'moduleSigned', false],
])('%s %s', (m, s, metric, expected) => {
  it(`${metric} = ${JSON.stringify(expected)}`, () => expect(value(m, s, metric)).toEqual(expected));
});

describe('durations come from the events they cite', () => {
  const tOf = new Map(run.events.map((e) => [e.line, e.t]));
  const measuredTimes = all.flatMap((r: ScenarioMetrics) => {
    const m = r.metrics['timeToDriverMs'];
    return m && 'value' in m ? [[`${r.method}.${r.scenario}`, m, r.triggerT!] as const] : [];
  });
  it.each(measuredTimes)('%s timeToDriverMs = last cited event − trigger (a cited line)', (_name, m, triggerT) => {
    const ts = m.from.map((l) => tOf.get(l)!);
    expect(ts).toContain(triggerT);
    expect(m.value).toBe(Math.max(...ts) - triggerT);
  });
  // Derived here from the raw events, independently of the metric code.
  const segmentOf = (m: string, s: string) => run.events.filter((e) => e.method === m && e.scenario === s);
  it.each(measuredTimes)('%s timeToDriverMs lies within its scenario (after the trigger, before scenario-end)', (name, m, triggerT) => {
    const [method, scenario] = name.split('.') as [string, string];
    const end = segmentOf(method, scenario).find((e) => e.kind === 'scenario-end')!.t;
    expect(m.value as number).toBeGreaterThan(0);
    expect((m.value as number) + triggerT).toBeLessThanOrEqual(end);
  });

  it('buildWallMs is the wall time the uncached build recorded', () => {
    const builds = segmentOf('kmm', 'day2').filter((e) => e.kind === 'build' && e.data['cached'] === false);
    expect(builds).toHaveLength(1);
    expect(value('kmm', 'day2', 'buildWallMs')).toBe(builds[0]!.data['wallMs']);
  });

  it("memoryBytes is the median of the driver container's samples after the driver loaded", () => {
    const seg = segmentOf('dtk', 'day2');
    const loadedAt = seg.findIndex((e) => e.kind === 'module-state' && e.data['loaded'] === true);
    const rss = seg.slice(loadedAt).filter((e) => e.kind === 'sample-memory' && e.data['component'] === 'driver-container').map((e) => e.data['rssBytes'] as number).sort((a, b) => a - b);
    expect(rss.length).toBeGreaterThan(0);
    const mid = rss.length / 2;
    const median = rss.length % 2 ? rss[Math.floor(mid)]! : Math.round((rss[mid - 1]! + rss[mid]!) / 2);
    expect(value('dtk', 'day2', 'memoryBytes')).toBe(median);
  });

  it("KMM's operator, which the lab only emulates, has no memory figure (not a made-up one)", () => {
    expect(run.events.some((e) => e.kind === 'sample-memory' && String(e.data['component']).startsWith('kmm-operator'))).toBe(false);
    expect(reason('kmm', 'day2', 'memoryBytes')).toMatch(/kmm-operator emulated by the target/);
  });
});

describe('what was not measured says why', () => {
  it.each([
    ['layering', 'upgrade', 'timeToDriverMs', 'driver not restored on the new kernel on node-0 by scenario end'],
    ['dtk', 'upgrade', 'timeToDriverMs', 'driver not restored on the new kernel on node-0 by scenario end'],
    ['dtk', 'day2', 'buildWallMs', 'all 1 build(s) were cache hits'],
  ])('%s %s %s', (m, s, metric, why) => expect(reason(m, s, metric)).toBe(why));

  it('the canary pod is not charged to any method', () => {
    expect(get('dtk', 'day2').components.map((c) => c.component)).toEqual(['driver-container']);
    expect(get('layering', 'day2').components).toEqual([]);
  });
});
