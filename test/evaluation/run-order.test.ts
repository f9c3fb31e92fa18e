/** A row's scenarios run with the release changes last (they move the nodes off the starting kernel). */
import { describe, expect, it } from 'vitest';
import { runOrder } from '../../src/evaluation/run-evaluation.js';

describe('runOrder', () => {
  it('the default scenarios: day1, day2, uninstall, then upgrade and kernel switch', () => {
    expect(runOrder(['day1', 'day2', 'upgrade', 'kernel-switch', 'uninstall'])).toEqual(['day1', 'day2', 'uninstall', 'upgrade', 'kernel-switch']);
  });
  it('a subset keeps that order; the input is not changed', () => {
    const given = ['kernel-switch', 'uninstall', 'day2'] as const;
    expect(runOrder([...given])).toEqual(['day2', 'uninstall', 'kernel-switch']);
    expect(given).toEqual(['kernel-switch', 'uninstall', 'day2']);
  });
});
