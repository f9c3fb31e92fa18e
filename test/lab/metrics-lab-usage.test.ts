import { describe, expect, it } from 'vitest';
import { hostProcessUsage, LabUsageSource, parseCpuBusySeconds, parseGuestSample, parseMeminfo, parseProcStat, type LabNodeHandle } from '../../src/targets/lab/metrics/lab-usage.js';
import { readFileSync } from 'node:fs';

/** A /proc/<pid>/stat line with the given fields (comm may hold spaces and parentheses). */
function stat(pid: number, comm: string, o: { session: number; utime: number; stime: number; cutime?: number; cstime?: number; rss: number }): string {
  // fields 3..24 after the comm
  const f = ['S', 1, pid, o.session, 0, -1, 4194304, 100, 0, 0, 0, o.utime, o.stime, o.cutime ?? 0, o.cstime ?? 0, 20, 0, 1, 0, 500, 1_000_000, o.rss];
  return `${pid} (${comm}) ${f.join(' ')} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0`;
}

const MEMINFO = `MemTotal:        1000000 kB
MemFree:          600000 kB
MemAvailable:     700000 kB
Inactive(file):    50000 kB
HugePages_Total:       0`;

describe('lab usage from /proc', () => {
  it('parses stat lines whose command holds spaces and parentheses', () => {
    expect(parseProcStat(stat(42, 'a (b) c', { session: 40, utime: 3, stime: 4, cutime: 5, cstime: 6, rss: 10 }))).toEqual({ pid: 42, session: 40, ticks: 18, rssPages: 10 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('a pod is its session: RSS and CPU of every member summed, other sessions left out', () => {
    const out = [
      'POD busy 40',
      'POD gone 77',
      `STAT ${stat(40, 'sh', { session: 40, utime: 100, stime: 50, cutime: 20, cstime: 5, rss: 300 })}`,
      `STAT ${stat(41, 'sleep', { session: 40, utime: 1, stime: 2, rss: 100 })}`,
      `STAT ${stat(9, 'agent', { session: 1, utime: 999, stime: 999, rss: 9999 })}`,
      'MEMINFO',
      MEMINFO,
      'CPU cpu  1000 0 500 80000 300 20 30 0 0 0',
    ].join('\n');
    const pods = [
      { namespace: 'ns', pod: 'busy-abc', container: 'driver', runtimeName: 'busy' },
      { namespace: 'ns', pod: 'gone-abc', container: 'driver', runtimeName: 'gone' },
    ];
    const g = parseGuestSample('sno', pods, out, 123);
    expect(g.containers).toEqual([
      { node: 'sno', namespace: 'ns', pod: 'busy-abc', container: 'driver', image: undefined, workingSetBytes: 400 * 4096, usageBytes: 400 * 4096, cpuSeconds: 1.78, at: 123 },
    ]);
    expect(g.node).toEqual({ node: 'sno', memTotalBytes: 1_024_000_000, memAvailableBytes: 716_800_000, workingSetBytes: (400_000 - 50_000) * 1024, cpuSeconds: 15.5, at: 123 });
  });

  it('meminfo and /proc/stat helpers', () => {
    expect(parseMeminfo(MEMINFO)['HugePages_Total']).toBe(0);
    expect(parseCpuBusySeconds('cpu0 1 2 3')).toBeUndefined();
  });

  it("reads a host process's RSS and CPU (this test's own process)", () => {
    const u = hostProcessUsage(process.pid);
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    expect(u.rssBytes! / 1024).toBeGreaterThan(rssKb / 2);
    expect(u.cpuSeconds).toBeGreaterThan(0);
    expect(hostProcessUsage(2 ** 22 + 1)).toEqual({});
  });

  it('a node that is not ready reports only the host view; concurrent scrapes share one guest request', async () => {
    let execs = 0;
    let ready = true;
    const node: LabNodeHandle = {
      name: 'sno',
      ready: () => ready,
      exec: async () => {
        execs++;
        await new Promise((r) => setTimeout(r, 20));
        return { code: 0, stdout: `MEMINFO\n${MEMINFO}\nCPU cpu 1 0 1 5 0 0 0 0`, stderr: '' };
      },
      qemuPid: () => process.pid,
      pods: () => [],
    };
    const src = new LabUsageSource(() => [node]);
    const [a, b] = await Promise.all([src.sample(), src.sample()]);
    expect(execs).toBe(1);
    expect(a).toBe(b);
    expect(a.nodes[0]).toMatchObject({ node: 'sno', memTotalBytes: 1_024_000_000, cpuSeconds: 0.02 });
    expect(a.nodes[0]!.hostRssBytes).toBeGreaterThan(0);
    ready = false;
    const down = await src.sample();
    expect(execs).toBe(1);
    expect(Object.keys(down.nodes[0]!).sort()).toEqual(['at', 'hostCpuSeconds', 'hostRssBytes', 'node']);
  });
});
