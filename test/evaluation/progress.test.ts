/** Progress lines: a step counter with a time-left estimate, and placeholders marked as such. */
import { describe, expect, it } from 'vitest';
import { StepClock, type ClockStep } from '../../src/evaluation/run-evaluation.js';
import { markPlaceholders, PLACEHOLDERS } from '../../src/release/placeholders.js';

describe('StepClock', () => {
  it('counts steps and estimates the time left from the finished ones', () => {
    let now = 0;
    const c = new StepClock(Array.from({ length: 15 }, () => ({ scenario: 'day2', baseline: false })), () => now);
    c.next();
    expect(c.prefix()).toBe('00:00 1/15'); // nothing finished: no estimate yet
    now = 60_000;
    c.next();
    now = 90_000;
    // 1 step took 60 s; 14 not finished → 14 min, less the 30 s the current one has used.
    expect(c.prefix()).toBe('01:30 2/15 ~14 min left');
    now = 14 * 60_000;
    for (let i = 0; i < 12; i++) c.next();
    expect(c.prefix()).toBe('14:00 14/15 ~2 min left');
    now = 14 * 60_000 + 40_000;
    c.next(); // 14 steps in 14 min 40 s: ~63 s each
    expect(c.prefix()).toBe('14:40 15/15 ~1 min left');
    now += 50_000;
    expect(c.prefix()).toBe('15:30 15/15 ~<1 min left');
  });

  it('estimates a step by the finished ones most like it: same scenario and kind of row, then same kind of row, then any; skipped steps are no sample', () => {
    let now = 0;
    const scenarios = ['day2', 'upgrade'];
    // The baseline first (fast: nothing applied), then two method rows.
    const steps: ClockStep[] = [true, false, false].flatMap((baseline) => scenarios.map((scenario) => ({ scenario, baseline })));
    const c = new StepClock(steps, () => now);
    const step = (ms: number) => {
      c.next();
      now += ms;
    };
    step(10_000); // baseline/day2
    step(20_000); // baseline/upgrade
    c.next(); // row 1 day2 just started: no method step finished, so the baseline's per-scenario means
    expect(c.prefix()).toBe('00:30 3/6 ~1 min left'); // 10 + 20 + 10 + 20 s
    now += 120_000; // row 1 day2 took 2 min
    c.next(); // row 1 upgrade: no upgrade of a method row yet → the method rows' mean (2 min) for it and for row 2's
    expect(c.prefix()).toBe('02:30 4/6 ~6 min left'); // 2 + 2 + 2
    now += 240_000; // row 1 upgrade took 4 min
    c.next(); // row 2 day2: its own scenario's mean (2 min), then upgrade (4 min)
    expect(c.prefix()).toBe('06:30 5/6 ~6 min left');
    // A skipped step is not averaged in.
    const d = new StepClock([{ scenario: 'day1', baseline: false }, { scenario: 'day1', baseline: false }, { scenario: 'day1', baseline: false }], () => now);
    d.next();
    now += 60_000;
    d.next();
    d.skip();
    d.next(); // step 2 took no time: skipped, so step 3 is estimated at 60 s, not 30
    expect(d.prefix()).toMatch(/ 3\/3 ~1 min left$/);
  });
});

describe('markPlaceholders', () => {
  it('marks every placeholder token in a progress line, and nothing else', () => {
    const line = `MachineConfig/99-x: osImageURL pinned to quay.io/FILL_ME_REGISTRY/simple-kmod-rhcos@sha256:abc`;
    expect(markPlaceholders(line)).toBe('MachineConfig/99-x: osImageURL pinned to quay.io/FILL_ME_REGISTRY/simple-kmod-rhcos@sha256:abc (placeholder, not a real value)');
    expect(markPlaceholders(`FROM ${PLACEHOLDERS.driverToolkitImage.token}`)).toContain('(placeholder, not a real value)');
    expect(markPlaceholders('osImageURL pinned to registry.lab.kmodlab.invalid/kmodlab/x@sha256:1')).toBe('osImageURL pinned to registry.lab.kmodlab.invalid/kmodlab/x@sha256:1');
  });
});
