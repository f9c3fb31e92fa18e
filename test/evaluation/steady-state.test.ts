/**
 * Steady-state sampling: three observations due at fixed offsets over `steadyMs`, so
 * the window is steadyMs long however long an observation takes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sampleSteadyState, type ScenarioContext } from '../../src/evaluation/scenarios/context.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('sampleSteadyState', () => {
  it('observes at steadyMs/3, 2·steadyMs/3 and steadyMs from the start, not after each observation ends', async () => {
    vi.useFakeTimers();
    const t0 = Date.now();
    const at: number[] = [];
    const target = {
      observe: async () => {
        at.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 400)); // a slow observation on a loaded host
      },
    };
    const done = sampleSteadyState({ target, steadyMs: 3000 } as unknown as ScenarioContext);
    await vi.runAllTimersAsync();
    await done;
    expect(at).toEqual([1000, 2000, 3000]);
  });

  it('probes module state in the last round only (the other rounds sample resources)', async () => {
    vi.useFakeTimers();
    const asked: (boolean | undefined)[] = [];
    const target = {
      observe: async (opts?: { modules?: boolean }) => {
        asked.push(opts?.modules);
      },
    };
    const done = sampleSteadyState({ target, steadyMs: 3000 } as unknown as ScenarioContext);
    await vi.runAllTimersAsync();
    await done;
    expect(asked).toEqual([false, false, true]);
  });

  it('an observation longer than the interval delays only the next one, which then starts at once', async () => {
    vi.useFakeTimers();
    const t0 = Date.now();
    const at: number[] = [];
    const target = {
      observe: async () => {
        at.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, at.length === 1 ? 1500 : 10));
      },
    };
    const done = sampleSteadyState({ target, steadyMs: 3000 } as unknown as ScenarioContext);
    await vi.runAllTimersAsync();
    await done;
    expect(at).toEqual([1000, 2500, 3000]);
  });

  it('takes no more rounds than whole resource windows fit in the steady state: the lab (4 s window, 3 s steady) observes once, at the end', async () => {
    vi.useFakeTimers();
    const t0 = Date.now();
    const calls: { at: number; modules?: boolean; closing?: boolean }[] = [];
    const target = {
      resourceWindowMs: 4000,
      observe: async (opts?: { modules?: boolean; closing?: boolean }) => {
        calls.push({ at: Date.now() - t0, ...opts });
      },
    };
    const done = sampleSteadyState({ target, steadyMs: 3000 } as unknown as ScenarioContext);
    await vi.runAllTimersAsync();
    await done;
    expect(calls).toEqual([{ at: 3000, modules: true, closing: true }]);
  });

  it('a cluster (60 s window) samples a 300 s steady state in three rounds, a 150 s one in two', async () => {
    vi.useFakeTimers();
    for (const [steadyMs, expected] of [
      [300_000, [100_000, 200_000, 300_000]],
      [150_000, [75_000, 150_000]],
    ] as const) {
      const t0 = Date.now();
      const at: number[] = [];
      const target = { resourceWindowMs: 60_000, observe: async () => void at.push(Date.now() - t0) };
      const done = sampleSteadyState({ target, steadyMs } as unknown as ScenarioContext);
      await vi.runAllTimersAsync();
      await done;
      expect(at).toEqual(expected);
    }
  });
});
