import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { guestScript, hostProcessUsage, LabUsageSource, parseCpuBusySeconds, parseGuestSample, parseMeminfo, parseProcStat, type LabNodeHandle } from '../../src/targets/lab/metrics/lab-usage.js';
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

describe.skipIf(!findTool('busybox') || !findTool('setsid'))('the guest script under busybox sh (on this host)', () => {
  it("reports a session's processes with their smaps_rollup RSS, and the node's meminfo and CPU", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-pods-'));
    // A pod as the runtime starts one: a session leader (setsid) with a child.
    const leader = spawn(findTool('setsid')!, [findTool('busybox')!, 'sh', '-c', 'sleep 60 & sleep 61'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      mkdirSync(path.join(dir, 'p1'));
      writeFileSync(path.join(dir, 'p1', 'pid'), `${leader.pid}\n`);
      const pods = [{ namespace: 'ns', pod: 'p1-abc', container: 'c', runtimeName: 'p1' }];
      const out = execFileSync(findTool('busybox')!, ['sh', '-c', guestScript(pods, dir)], { encoding: 'utf8' });
      const g = parseGuestSample('host', pods, out, 1);
      // Shell builtins only (it runs at every scrape, and each cat/sed/head it started was a
      // fork and an exec on the guest's one vCPU): a shell with no applets and no PATH reads the same.
      const builtinsOnly = execFileSync('/bin/sh', ['-c', guestScript(pods, dir)], { encoding: 'utf8', env: { PATH: '/nonexistent' } });
      const b = parseGuestSample('host', pods, builtinsOnly, 1);
      expect(b.containers.map((c) => c.pod)).toEqual(['p1-abc']);
      expect(b.node.memTotalBytes).toBeGreaterThan(0);
      expect(b.node.cpuSeconds).toBeGreaterThan(0);
      // independent reading: every process of the leader's session, Rss from smaps_rollup
      const members = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
        try {
          const l = readFileSync(`/proc/${d}/stat`, 'utf8');
          return l.slice(l.lastIndexOf(')') + 2).split(' ')[3] === String(leader.pid);
        } catch {
          return false;
        }
      });
      expect(members.length).toBe(2); // the leader (sh exec's its last command) and the background sleep
      const rss = members.reduce((a, d) => a + Number(/^Rss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${d}/smaps_rollup`, 'utf8'))![1]) * 1024, 0);
      // RSS read from smaps_rollup for exactly the session's processes
      expect(out.match(/^ROLLUP \d+ \d+$/gm)?.map((l) => l.split(' ')[1]).sort()).toEqual([...members].sort());
      // …and only their stat lines: every other process of the host is left out of the answer.
      expect(out.match(/^STAT (\d+)/gm)?.map((l) => l.split(' ')[1]).sort()).toEqual([...members].sort());
      expect(g.containers).toHaveLength(1);
      expect(g.containers[0]!.workingSetBytes).toBe(rss);
      expect(g.node.memTotalBytes).toBe(Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024);
      expect(g.node.cpuSeconds).toBeGreaterThan(0);
    } finally {
      leader.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
