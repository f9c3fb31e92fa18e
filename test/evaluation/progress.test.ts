/** Progress lines: a step counter with a time-left estimate, and placeholders marked as such. */
import { describe, expect, it } from 'vitest';
import { StepClock } from '../../src/evaluation/run-evaluation.js';
import { markPlaceholders, PLACEHOLDERS } from '../../src/release/placeholders.js';

describe('StepClock', () => {
  it('counts steps and estimates the time left from the finished ones', () => {
    let now = 0;
    const c = new StepClock(15, () => now);
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
});

describe('markPlaceholders', () => {
  it('marks every placeholder token in a progress line, and nothing else', () => {
    const line = `MachineConfig/99-x: osImageURL pinned to quay.io/FILL_ME_REGISTRY/simple-kmod-rhcos@sha256:abc`;
    expect(markPlaceholders(line)).toBe('MachineConfig/99-x: osImageURL pinned to quay.io/FILL_ME_REGISTRY/simple-kmod-rhcos@sha256:abc (placeholder, not a real value)');
    expect(markPlaceholders(`FROM ${PLACEHOLDERS.driverToolkitImage.token}`)).toContain('(placeholder, not a real value)');
    expect(markPlaceholders('osImageURL pinned to registry.lab.kmodlab.invalid/kmodlab/x@sha256:1')).toBe('osImageURL pinned to registry.lab.kmodlab.invalid/kmodlab/x@sha256:1');
  });
});
