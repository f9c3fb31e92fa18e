import { describe, expect, it } from 'vitest';
import { chooseKernelPackages, kernelsInIndex } from '../../src/targets/lab/kernels/package-index.js';
import { chooseLabKernels, compareKver } from '../../src/targets/lab/kernels/lab-releases.js';
import type { LabKernel } from '../../src/targets/lab/kernels/catalog.js';

// Shape of `apt-cache search --names-only '^linux-image-[0-9]'` on Debian 12.
const INDEX = `linux-image-6.1.0-47-amd64 - Linux 6.1 for 64-bit PCs (signed)
linux-image-6.1.0-47-amd64-unsigned - Linux 6.1 for 64-bit PCs
linux-image-6.1.0-47-cloud-amd64 - Linux 6.1 for x86-64 cloud (signed)
linux-image-6.1.0-47-rt-amd64 - Linux 6.1 for 64-bit PCs, PREEMPT_RT (signed)
linux-image-6.1.0-54-amd64 - Linux 6.1 for 64-bit PCs (signed)
linux-image-6.1.0-54-rt-amd64 - Linux 6.1 for 64-bit PCs, PREEMPT_RT (signed)
linux-image-6.1.0-56-amd64 - Linux 6.1 for 64-bit PCs (signed)
linux-image-6.1.0-56-rt-amd64 - Linux 6.1 for 64-bit PCs, PREEMPT_RT (signed)
linux-image-6.12.107+deb12-amd64 - Linux 6.12 for 64-bit PCs (signed)
linux-image-6.12.117+deb12-amd64 - Linux 6.12 for 64-bit PCs (signed)
linux-image-6.12.117+deb12-rt-amd64 - Linux 6.12 for 64-bit PCs, PREEMPT_RT (signed)
linux-image-6.12.117+deb12-cloud-amd64 - Linux 6.12 for x86-64 cloud (signed)`;

describe('lab kernel choice from the package index', () => {
  it('keeps amd64 default and rt images only', () => {
    const k = kernelsInIndex(INDEX.split('\n'));
    expect(k).toContain('6.1.0-56-rt-amd64');
    expect(k).toContain('6.12.117+deb12-amd64');
    expect(k.some((x) => x.includes('cloud') || x.includes('unsigned'))).toBe(false);
  });

  it('chooses a z-stream pair, the newest other series and the realtime flavour of the start', () => {
    const c = chooseKernelPackages(kernelsInIndex(INDEX.split('\n')));
    expect(c.roles).toEqual({ from: '6.1.0-54-amd64', upgradeTo: '6.1.0-56-amd64', ySeries: '6.12.117+deb12-amd64', realtime: '6.1.0-54-rt-amd64' });
    expect(c.kernels).toHaveLength(4);
  });

  it('orders kernel versions numerically', () => {
    expect(['6.1.0-9-amd64', '6.1.0-56-amd64', '6.1.0-10-amd64'].sort(compareKver)).toEqual(['6.1.0-9-amd64', '6.1.0-10-amd64', '6.1.0-56-amd64']);
  });

  it('gives installed kernels their evaluation roles', () => {
    const k = (kver: string, flavour: string): LabKernel => ({ kver, vmlinuz: '', buildDir: '', modulesDir: '', flavour, series: '6.1', source: 'system' });
    const roles = chooseLabKernels([k('6.1.0-56-amd64', 'amd64'), k('6.1.0-54-amd64', 'amd64'), k('6.1.0-54-rt-amd64', 'rt-amd64')]);
    expect(roles.from.kver).toBe('6.1.0-54-amd64');
    expect(roles.upgradeTo?.kver).toBe('6.1.0-56-amd64');
    expect(roles.realtime?.kver).toBe('6.1.0-54-rt-amd64');
  });
});
