import { describe, expect, it } from 'vitest';
import { rfc3339 } from '../../src/targets/lab/control-plane/kube-time.js';

describe('rfc3339 (metav1.Time on the wire)', () => {
  it('writes UTC with whole seconds, from a Date or epoch milliseconds', () => {
    expect(rfc3339(new Date('2026-11-30T23:59:58.987+01:00'))).toBe('2026-11-30T22:59:58Z');
    expect(rfc3339(Date.UTC(2026, 0, 2, 3, 4, 5, 600))).toBe('2026-01-02T03:04:05Z');
  });
});
