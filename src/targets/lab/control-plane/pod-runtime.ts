/**
 * Pods on a lab node. A pod's root is its image (copied from the share, as a pull
 * would) with the node's userland bind-mounted in, so the manifest's own commands run
 * literally under `chroot` — `modprobe -v -a simple_kmod …` finds the modules exactly
 * where the image put them. The container's main command (e.g. `sleep infinity`)
 * keeps running in the background; its RSS is the pod's memory.
 */
import { SHARE_MOUNT } from '../os-image/init.js';
import type { LabNode } from '../node/node.js';
import type { LabImage } from './image-registry.js';

/** Node directories a pod needs to run binaries (kmod and its libraries, busybox). */
const NODE_USERLAND = ['bin', 'sbin', 'usr', 'lib64', 'lib/x86_64-linux-gnu', 'etc/kmodlab'];

export interface PodSpec {
  name: string;
  image: LabImage;
  /** The container's command (exec form). */
  command: string[];
}

export interface ExecOutcome {
  code: number;
  output: string;
}

export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Shell text that runs an exec-form command in the pod root. argv[0] is looked up
 * on the container PATH inside the root first, as a container runtime does: busybox's
 * chroot would otherwise run its own applet of that name (it prefers applets), and
 * busybox's modprobe is not kmod's.
 */
export function chrootExec(root: string, command: string[]): string {
  const [bin = '', ...args] = command;
  const lookup = bin.includes('/')
    ? q(bin)
    : `"$(for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do [ -x ${root}$d/${q(bin)} ] && { echo $d/${q(bin)}; break; }; done)"`;
  return `chroot ${root} ${lookup} ${args.map(q).join(' ')}`;
}

export function podRoot(pod: string): string {
  return `/run/pods/${pod}/root`;
}

/** Create the pod's root from its image and start its main process; returns the PID. */
export async function startPod(node: LabNode, spec: PodSpec): Promise<number> {
  const dir = `/run/pods/${spec.name}`;
  const root = podRoot(spec.name);
  const binds = NODE_USERLAND.map((d) => `if [ -e /${d} ]; then mkdir -p ${root}/${d} && mount --bind /${d} ${root}/${d}; fi`).join('\n');
  const script = `set -e
rm -rf ${dir}; mkdir -p ${root}
cp -a ${SHARE_MOUNT}/${spec.image.sharePath}/. ${root}/
${binds}
mkdir -p ${root}/proc ${root}/sys ${root}/dev ${root}/tmp ${root}/run
mount -t proc proc ${root}/proc
mount --bind /sys ${root}/sys
mount --bind /dev ${root}/dev
setsid ${chrootExec(root, spec.command)} </dev/null >${dir}/main.log 2>&1 &
echo $! > ${dir}/pid
echo $!`;
  const r = await node.exec(script);
  if (r.code !== 0) throw new Error(`node ${node.name}: pod ${spec.name} did not start: ${r.stderr.trim() || r.stdout.trim()}`);
  return Number(r.stdout.trim().split('\n').pop());
}

/** Run a lifecycle hook / exec probe (exec form) inside the pod's root. */
export async function execInPod(node: LabNode, pod: string, command: string[], timeoutMs = 60_000): Promise<ExecOutcome> {
  const r = await node.exec(`${chrootExec(podRoot(pod), command)} 2>&1`, { timeoutMs });
  return { code: r.code, output: (r.stdout + r.stderr).trim() };
}

/** Is the pod's main process still running? */
export async function podRunning(node: LabNode, pod: string): Promise<boolean> {
  const r = await node.exec(`p=$(cat /run/pods/${pod}/pid 2>/dev/null) && [ -d /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status`);
  return r.code === 0;
}

/** Resident memory of the pod's main process, in bytes (VmRSS). */
export async function podRssBytes(node: LabNode, pod: string): Promise<number | undefined> {
  const r = await node.exec(`p=$(cat /run/pods/${pod}/pid) && sed -n 's/^VmRSS:[[:space:]]*\\([0-9]*\\) kB/\\1/p' /proc/$p/status`);
  const kb = Number(r.stdout.trim());
  return r.code === 0 && r.stdout.trim() !== '' ? kb * 1024 : undefined;
}

/** CPU time (user+system, ms) the pod's main process has used so far. */
export async function podCpuMs(node: LabNode, pod: string): Promise<number | undefined> {
  // /proc/<pid>/stat fields 14 and 15 are utime and stime in clock ticks (USER_HZ = 100).
  const r = await node.exec(`p=$(cat /run/pods/${pod}/pid) && cut -d' ' -f14,15 /proc/$p/stat`);
  if (r.code !== 0) return undefined;
  const [u, s] = r.stdout.trim().split(' ').map(Number);
  return ((u ?? 0) + (s ?? 0)) * 10;
}

/** Kill the main process and tear the root down (what the kubelet does after preStop). */
export async function removePod(node: LabNode, pod: string): Promise<void> {
  const dir = `/run/pods/${pod}`;
  await node.exec(`p=$(cat ${dir}/pid 2>/dev/null) && kill -9 $p 2>/dev/null
for m in $(grep ' ${podRoot(pod)}' /proc/mounts | cut -d' ' -f2 | sort -r); do umount -l $m 2>/dev/null; done
rm -rf ${dir}`);
}
