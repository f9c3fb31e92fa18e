/** The fault a wait for the driver records when it ends without it: where, after how long, and what held it up. */
import { describe, expect, it } from 'vitest';
import { waitForDriver, type ScenarioContext } from '../../src/evaluation/scenarios/context.js';
import type { WaitResult } from '../../src/targets/target.js';

function ctx(result: WaitResult): { ctx: ScenarioContext; recorded: { kind: string; data: Record<string, unknown> }[] } {
  const recorded: { kind: string; data: Record<string, unknown> }[] = [];
  const c = {
    target: { observesModules: true, waitForModules: async () => result },
    driver: { modules: [{ name: 'needs-crc7' }] },
    settleTimeoutMs: 300_000,
    record: (kind: string, data: Record<string, unknown>) => recorded.push({ kind, data }),
    progress: () => undefined,
  } as unknown as ScenarioContext;
  return { ctx: c, recorded };
}

describe('waitForDriver', () => {
  it('a timeout names the pending nodes; what the target saw holding the driver up is quoted', async () => {
    const blocked = ctx({ ok: false, pending: ['lab-node-0'], blockedBy: ['pod ns/p on lab-node-0: ImagePullBackOff: Back-off pulling image "r/i:1": ErrImagePull: connection refused'] });
    expect(await waitForDriver(blocked.ctx, true, 'after apply')).toBe(false);
    expect(blocked.recorded).toEqual([
      {
        kind: 'fault',
        data: {
          fault: 'driver-not-loaded',
          message: 'after apply: the driver is not loaded on lab-node-0 after 300 s; held up by: pod ns/p on lab-node-0: ImagePullBackOff: Back-off pulling image "r/i:1": ErrImagePull: connection refused',
        },
      },
    ]);
    const plain = ctx({ ok: false, pending: ['lab-node-0'] });
    await waitForDriver(plain.ctx, true, 'after apply');
    expect(plain.recorded[0]!.data['message']).toBe('after apply: the driver is not loaded on lab-node-0 after 300 s');
  });
});
