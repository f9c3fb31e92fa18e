/**
 * The lab's usage source: what a kubelet's cAdvisor would report, read from the QEMU
 * guests and the host.
 *
 *  - Pods: a lab pod's main process is started with `setsid` (pod-runtime.ts), so the
 *    pod is every guest process in that session. Its working set (and usage) is the
 *    sum of their RSS, from smaps_rollup (counted from the page tables: the RSS in
 *    /proc/<pid>/stat and status lags on 6.1 kernels, whose per-thread RSS counters are
 *    folded in only every 64 page faults — small processes read a page or two); its CPU the sum of their utime+stime+cutime+cstime (a cgroup
 *    also counts children that already exited, which their live parent's cutime/cstime
 *    hold). The lab's pods have no cgroup of their own: no page cache is charged to
 *    them, so usage equals the working set here.
 *  - Nodes: /proc/meminfo (node-exporter's MemTotal/MemAvailable; the root cgroup's
 *    working set as cAdvisor computes it, usage − inactive file) and /proc/stat (the
 *    root cgroup's CPU: all but idle and iowait).
 *  - The QEMU process of each node on the host: RSS and CPU time, what the node costs.
 *
 * One agent request per node and scrape; a scrape while one is in flight shares it.
 */
import { readFileSync } from 'node:fs';
import type { ClusterNode } from '../control-plane/cluster-types.js';
import type { ContainerUsage, NodeUsage, UsageSnapshot, UsageSource } from './usage.js';

/** USER_HZ: the unit of /proc's CPU times on Linux (x86-64 fixes it at 100). */
const USER_HZ = 100;
const PAGE_SIZE = 4096;

export interface LabPodRef {
  namespace: string;
  pod: string;
  container: string;
  image?: string;
  /** The pod's directory name under /run/pods in the guest. */
  runtimeName: string;
}

/** What this source needs of a node: its name, a shell in the guest, QEMU's pid. */
export interface LabNodeHandle {
  name: string;
  ready(): boolean;
  exec(script: string): Promise<{ code: number; stdout: string; stderr: string }>;
  qemuPid(): number | undefined;
  pods(): LabPodRef[];
  /** Where the node's pod runtime keeps each pod's pid file (`<dir>/<runtimeName>/pid`); default /run/pods. */
  podsDir?: string;
}

export interface ProcStat {
  pid: number;
  session: number;
  /** utime+stime+cutime+cstime, in USER_HZ ticks. */
  ticks: number;
  rssPages: number;
}

/** One /proc/<pid>/stat line. The command name may hold spaces and parentheses: fields start after the last ')'. */
export function parseProcStat(line: string): ProcStat | undefined {
  const close = line.lastIndexOf(')');
  const pid = Number(line.slice(0, line.indexOf(' ')));
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  // After ')': state(3) ppid(4) pgrp(5) session(6) ... utime(14) stime(15) cutime(16) cstime(17) ... rss(24); index = field - 3.
  const f = line.slice(close + 2).trim().split(/\s+/);
  const n = (field: number) => Number(f[field - 3]);
  const s: ProcStat = { pid, session: n(6), ticks: n(14) + n(15) + n(16) + n(17), rssPages: n(24) };
  return Object.values(s).every(Number.isFinite) ? s : undefined;
}

/** kB fields of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^([A-Za-z0-9()_]+):\s+(\d+)(?: kB)?$/gm)) out[m[1]!] = Number(m[2]) * 1024;
  return out;
}

/** Busy CPU seconds from /proc/stat's `cpu` line: everything but idle and iowait. */
export function parseCpuBusySeconds(line: string): number | undefined {
  const v = line.trim().split(/\s+/);
  if (v[0] !== 'cpu') return undefined;
  const t = v.slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user/nice)
  const busy = t.slice(0, 8).reduce((a, x, i) => (i === 3 || i === 4 ? a : a + x), 0);
  return Number.isFinite(busy) ? busy / USER_HZ : undefined;
}

/**
 * The shell (busybox sh) the agent runs in the guest for one sample; `podsDir` is where the
 * pod runtime keeps pid files. Shell builtins only (`read`, `echo`, `set`, `case`): it runs
 * at every scrape, and each process it started (cat, tr, sed, head) cost the guest a fork
 * and an exec under TCG, on the same vCPU as the pods it measures.
 */
export function guestScript(pods: LabPodRef[], podsDir = '/run/pods'): string {
  const names = pods.map((p) => `'${p.runtimeName.replace(/'/g, '')}'`).join(' ');
  // Only the processes of the pods' sessions are printed (the parser needs no others): each
  // line is base64'd through the agent channel, and ~70 lines of every kernel thread made
  // the sample most of a second. The cheap pattern picks candidates; \`set --\` checks that
  // the session (field 6) is the leader's.
  return `leaders=
for n in ${names}; do p=; { read -r p <${podsDir}/$n/pid || :; } 2>/dev/null; [ -n "$p" ] && echo "POD $n $p" && leaders="$leaders $p"; done
[ -n "$leaders" ] && for f in /proc/[0-9]*/stat; do
  l=; { read -r l <$f || :; } 2>/dev/null
  r=\${l##*) }
  for p in $leaders; do
    case "$r" in ?" "*" $p "*) ;; *) continue ;; esac
    set -- $r
    [ "$4" = "$p" ] || continue
    echo "STAT $l"
    d=\${f%/stat}; v=
    [ -r $d/smaps_rollup ] && while read -r k x u; do [ "$k" = Rss: ] && v=$x && break; done 2>/dev/null <$d/smaps_rollup
    echo "ROLLUP \${d#/proc/} $v"
    break
  done
done
echo MEMINFO
while read -r l; do echo "$l"; done </proc/meminfo
read -r l </proc/stat; echo "CPU $l"`;
}

/** Turns one node's guest answer into its containers and node figures. */
export function parseGuestSample(node: string, pods: LabPodRef[], out: string, at: number): { containers: Array<ContainerUsage & { node: string }>; node: NodeUsage } {
  const lines = out.split('\n');
  const leader = new Map<string, number>();
  const stats: ProcStat[] = [];
  /** Rss from smaps_rollup (pid → bytes): counted from the page tables. */
  const rollup = new Map<number, number>();
  let cpuLine = '';
  const mi = lines.indexOf('MEMINFO');
  for (const l of mi >= 0 ? lines.slice(0, mi) : lines) {
    if (l.startsWith('POD ')) {
      const [, n, p] = l.split(' ');
      leader.set(n!, Number(p));
    } else if (l.startsWith('ROLLUP ')) {
      const [, pid, kb] = l.split(' ');
      if (kb) rollup.set(Number(pid), Number(kb) * 1024);
    } else if (l.startsWith('STAT ')) {
      const s = parseProcStat(l.slice(5));
      if (s) stats.push(s);
    }
  }
  const rest = mi >= 0 ? lines.slice(mi + 1) : [];
  const cpuAt = rest.findIndex((l) => l.startsWith('CPU '));
  if (cpuAt >= 0) cpuLine = rest[cpuAt]!.slice(4);
  const mem = parseMeminfo(rest.slice(0, cpuAt >= 0 ? cpuAt : undefined).join('\n'));

  const containers: Array<ContainerUsage & { node: string }> = [];
  for (const p of pods) {
    const sid = leader.get(p.runtimeName);
    // The session leader gone: the pod's process is not running, nothing to report.
    if (sid === undefined || !stats.some((s) => s.pid === sid)) continue;
    const members = stats.filter((s) => s.session === sid);
    const rss = members.reduce((a, s) => a + (rollup.get(s.pid) ?? s.rssPages * PAGE_SIZE), 0);
    const cpu = members.reduce((a, s) => a + s.ticks, 0) / USER_HZ;
    containers.push({ node, namespace: p.namespace, pod: p.pod, container: p.container, image: p.image, workingSetBytes: rss, usageBytes: rss, cpuSeconds: cpu, at });
  }
  const total = mem['MemTotal'];
  const free = mem['MemFree'];
  const inactiveFile = mem['Inactive(file)'];
  const usage = total !== undefined && free !== undefined ? total - free : undefined;
  return {
    containers,
    node: {
      node,
      memTotalBytes: total,
      memAvailableBytes: mem['MemAvailable'],
      workingSetBytes: usage !== undefined && inactiveFile !== undefined ? Math.max(0, usage - inactiveFile) : undefined,
      cpuSeconds: cpuLine ? parseCpuBusySeconds(cpuLine) : undefined,
      at,
    },
  };
}

/** The host's view of a QEMU process: RSS (bytes) and CPU seconds (user+system). */
export function hostProcessUsage(pid: number): { rssBytes?: number; cpuSeconds?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    const s = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    // ticks include cutime/cstime: QEMU's own helper processes it waited for.
    return { rssBytes: rss ? Number(rss) * 1024 : undefined, cpuSeconds: s ? s.ticks / USER_HZ : undefined };
  } catch {
    return {};
  }
}

export class LabUsageSource implements UsageSource {
  private inFlight: Promise<UsageSnapshot> | undefined;

  constructor(private readonly nodes: () => LabNodeHandle[]) {}

  sample(): Promise<UsageSnapshot> {
    return (this.inFlight ??= this.sampleNow().finally(() => (this.inFlight = undefined)));
  }

  private async sampleNow(): Promise<UsageSnapshot> {
    const snap: UsageSnapshot = { containers: [], nodes: [] };
    await Promise.all(
      this.nodes().map(async (n) => {
        const pid = n.qemuPid();
        const host = pid ? hostProcessUsage(pid) : {};
        const hostFigures: Partial<NodeUsage> = { hostRssBytes: host.rssBytes, hostCpuSeconds: host.cpuSeconds };
        // A node that is down has no kubelet or node-exporter answering: only the host's view.
        if (!n.ready()) {
          if (pid) snap.nodes.push({ node: n.name, ...hostFigures, at: Date.now() });
          return;
        }
        const pods = n.pods();
        const r = await n.exec(guestScript(pods, n.podsDir)).catch(() => undefined);
        const at = Date.now();
        if (!r || r.code !== 0) {
          snap.nodes.push({ node: n.name, ...hostFigures, at });
          return;
        }
        const g = parseGuestSample(n.name, pods, r.stdout, at);
        snap.containers.push(...g.containers);
        snap.nodes.push({ ...g.node, ...hostFigures });
      }),
    );
    return snap;
  }
}

/** The lab cluster's nodes as this source sees them; a pod's namespace is its owner's (`Kind/<ns>/<name>`). */
export function clusterNodeHandles(nodes: ClusterNode[]): LabNodeHandle[] {
  return nodes.map((n) => ({
    name: n.name,
    ready: () => n.lab.state === 'ready',
    exec: (script) => n.lab.exec(script),
    qemuPid: () => n.lab.pid,
    pods: () =>
      [...n.pods.values()]
        .filter((p) => p.phase === 'Running')
        .map((p) => ({ namespace: p.owner.split('/')[1] ?? '', pod: p.name, container: p.component, image: p.imageRef, runtimeName: p.name })),
  }));
}
