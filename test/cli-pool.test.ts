/**
 * `--pool` is one flag with one rule: `evaluate --target cluster` takes every pool
 * `render` takes (worker, master or a custom pool such as infra), and both refuse the
 * same bad names with the same message (it used to accept only worker|master).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runEvaluate } from '../src/cli/cmds/evaluate.js';
import { UserError } from '../src/errors.js';
import { POOL_NAME_EXPECTED, poolFlag } from '../src/methods/custom-pool.js';
import { RenderOptionsSchema } from '../src/methods/method.js';

const io = { stdout: () => {}, stderr: () => {} };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function evaluateCluster(pool: string): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-pool-'));
  dirs.push(dir);
  return runEvaluate(
    {
      target: 'cluster',
      driver: 'drivers/simple-kmod/driver.yaml',
      methods: 'dtk',
      scenarios: 'day2',
      nodes: '1',
      memory: '256',
      pool,
      kubeconfig: path.join(dir, 'no-such-kubeconfig'),
      out: path.join(dir, 'run'),
    },
    io,
  );
}

describe('--pool', () => {
  it('evaluate --target cluster accepts a custom pool as render does (it fails later, on the missing kubeconfig)', async () => {
    expect(RenderOptionsSchema.parse({ pool: 'infra' }).pool).toBe('infra');
    const err = await evaluateCluster('infra').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/kubeconfig/i);
    expect(err?.message).not.toMatch(/--pool/);
  });

  it('render and evaluate refuse a bad pool name with the same expectation, as a UserError', async () => {
    await expect(evaluateCluster('Bad_Pool')).rejects.toThrow(new UserError(`--pool Bad_Pool: ${POOL_NAME_EXPECTED}`).message);
    await expect(evaluateCluster('Bad_Pool')).rejects.toBeInstanceOf(UserError);
    expect(RenderOptionsSchema.safeParse({ pool: 'Bad_Pool' }).error?.issues[0]?.message).toBe(POOL_NAME_EXPECTED);
    expect(poolFlag(undefined)).toBe('worker');
  });
});
