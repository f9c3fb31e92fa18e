/**
 * The off-cluster step of a dtk Day-1 README (no in-cluster build at install time): the
 * lab plans the README's own `podman build … -f Containerfile` + `podman push`, under the
 * manual step manual-steps.ts names for the Day-1 set, and no step for a Day-2 set.
 * Plans only (no build): the lab run is in evaluate-lab-api-day1.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planOffClusterBuilds } from '../../src/targets/lab/images/off-cluster-build.js';
import type { LabRegistry } from '../../src/targets/lab/images/registry.js';
import { REPO } from './helpers.js';

const BIN = path.join(REPO, 'bin', 'kmodlab.js');
const registry = { host: '127.0.0.1:5999', prefix: '127.0.0.1:5999/kmodlab', insecure: true } as unknown as LabRegistry;
const digest = `sha256:${'0'.repeat(64)}`;

describe('off-cluster plan of the dtk Day-1 driver image', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-plan-day1-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const render = (out: string, ...extra: string[]) => {
    const r = spawnSync(process.execPath, [BIN, 'render', '--driver', path.join(REPO, 'drivers/simple-kmod/driver.yaml'), '--method', 'dtk', '--kernel', '5.14.0-284.el9.x86_64', '--dtk-image', `quay.io/x/dtk@${digest}`, '--rhcos-image', `quay.io/x/rhcos@${digest}`, '--ocp-version', '4.14.1', '--output-dir', path.join(dir, out), ...extra], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return path.join(dir, out, 'dtk');
  };

  it('plans the README build with its build args, pushed to the lab registry', () => {
    const out = render('day1', '--day1', '--registry', 'quay.io/acme');
    const [plan, ...more] = planOffClusterBuilds(out, registry);
    expect(more).toEqual([]);
    expect(plan?.step).toBe('driver-image');
    expect(plan?.renderedImage).toBe('quay.io/acme/simple-kmod-driver-container:5.14.0-284.el9.x86_64');
    expect(plan?.image).toBe('127.0.0.1:5999/kmodlab/simple-kmod-driver-container:5.14.0-284.el9.x86_64');
    expect(plan?.script).toContain(`--build-arg DTK=quay.io/x/dtk@${digest} --build-arg KVER=5.14.0-284.el9.x86_64`);
    expect(plan?.script).not.toContain('--authfile');
    expect(plan?.script).toMatch(/\npodman push --digestfile driver-image-digest\.txt /);
    expect(plan?.sourceDir).toBe(path.join(REPO, 'drivers/simple-kmod'));
    // The wording manual-steps.ts gives the Day-1 set's step (what the hook matches it by).
    expect(plan?.manualStep).toBe(`podman build -f Containerfile ${plan?.sourceDir} && podman push <image>`);
  });

  it('a Day-2 set (built in the cluster) plans no driver image', () => {
    expect(planOffClusterBuilds(render('day2'), registry).map((p) => p.step)).not.toContain('driver-image');
  });
});

describe('off-cluster plan of the kmm Day-1 kmod image', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-plan-kmm-day1-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const render = (out: string, ...extra: string[]) => {
    const r = spawnSync(process.execPath, [BIN, 'render', '--driver', path.join(REPO, 'drivers/simple-kmod/driver.yaml'), '--method', 'kmm', '--kernel', '5.14.0-284.el9.x86_64', '--dtk-image', `quay.io/x/dtk@${digest}`, '--rhcos-image', `quay.io/x/rhcos@${digest}`, '--ocp-version', '4.14.1', '--output-dir', path.join(dir, out), ...extra], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return path.join(dir, out, 'kmm');
  };

  it("plans the source image, then the README's kmod image <repo>:<kernel> with KMM's build args (the image the loader MachineConfig pulls)", () => {
    const out = render('day1', '--day1', '--registry', 'quay.io/acme');
    const plans = planOffClusterBuilds(out, registry);
    expect(plans.map((p) => p.step)).toEqual(['source-image', 'driver-image']);
    const kmod = plans[1]!;
    expect(kmod.renderedImage).toBe('quay.io/acme/simple-kmod-kmm-1.0.0:5.14.0-284.el9.x86_64');
    expect(kmod.image).toBe('127.0.0.1:5999/kmodlab/simple-kmod-kmm-1.0.0:5.14.0-284.el9.x86_64');
    expect(kmod.script).toContain(`--build-arg DTK_AUTO=quay.io/x/dtk@${digest} --build-arg KERNEL_FULL_VERSION=5.14.0-284.el9.x86_64 -t 127.0.0.1:5999/kmodlab/simple-kmod-kmm-1.0.0:5.14.0-284.el9.x86_64 -f Containerfile ${out}`);
    expect(kmod.script).toMatch(/\npodman push --digestfile driver-image-digest\.txt /);
    expect(kmod.manualStep).toBe(`podman build -f Containerfile ${out} && podman push <image>`);
  });

  it('a Day-2 set (KMM builds in the cluster) plans no kmod image', () => {
    expect(planOffClusterBuilds(render('day2'), registry).map((p) => p.step)).not.toContain('driver-image');
  });
});
