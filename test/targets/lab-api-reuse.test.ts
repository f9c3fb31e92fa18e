/**
 * When `evaluate --target lab-api` may reuse the running lab for the next scenario: only
 * when it stands where the scenario starts — nodes on the kernel AND the ClusterVersion at
 * that kernel's lab release. An upgrade of an off-cluster layered pool leaves the nodes on
 * their pinned kernel with the ClusterVersion at the new release; reusing that lab made the
 * next scenario's upgrade fail ("not an available update").
 */
import { describe, expect, it } from 'vitest';
import { labReusable, labStandsAt } from '../../src/targets/lab/lab-api-target.js';

describe('lab reuse between scenarios', () => {
  it('nodes on the kernel and the ClusterVersion at its release: reused', () => {
    expect(labStandsAt({ kernel: '6.1.0-56-amd64', version: '6.1.0-56-amd64' }, '6.1.0-56-amd64')).toBe(true);
    // A lab not connected yet (its state file names the nodes' kernels only).
    expect(labStandsAt({ kernel: '6.1.0-56-amd64' }, '6.1.0-56-amd64')).toBe(true);
  });

  it('nodes on the kernel but the ClusterVersion upgraded (a pinned OS image): not reused', () => {
    expect(labStandsAt({ kernel: '6.1.0-56-amd64', version: '6.1.0-57-amd64' }, '6.1.0-56-amd64')).toBe(false);
  });

  it('nodes on another kernel, or no lab: not reused', () => {
    expect(labStandsAt({ kernel: '6.1.0-57-amd64', version: '6.1.0-57-amd64' }, '6.1.0-56-amd64')).toBe(false);
    expect(labStandsAt({ kernel: '6.1.0-56-rt-amd64', version: '6.1.0-56-amd64' }, '6.1.0-56-amd64')).toBe(false);
    expect(labStandsAt({}, '6.1.0-56-amd64')).toBe(false);
    expect(labStandsAt(undefined, '6.1.0-56-amd64')).toBe(false);
  });

  it("another row's artifacts still applied (the previous row ended on day2 or upgrade): not reused", () => {
    const at56 = { kernel: '6.1.0-56-amd64', version: '6.1.0-56-amd64' };
    expect(labReusable(at56, '6.1.0-56-amd64', { previous: 'layering', next: 'layering-on-cluster', applied: true })).toBe(false);
    // The same row's next scenario re-applies the same set: reused.
    expect(labReusable(at56, '6.1.0-56-amd64', { previous: 'layering', next: 'layering', applied: true })).toBe(true);
    // The previous row removed what it applied (uninstall), or nothing ran before.
    expect(labReusable(at56, '6.1.0-56-amd64', { previous: 'layering', next: 'kmm', applied: false })).toBe(true);
    expect(labReusable(at56, '6.1.0-56-amd64', { next: 'kmm', applied: false })).toBe(true);
    // Where it stands still decides first.
    expect(labReusable({ kernel: '6.1.0-56-amd64', version: '6.1.0-57-amd64' }, '6.1.0-56-amd64', { previous: 'kmm', next: 'kmm', applied: true })).toBe(false);
  });
});
