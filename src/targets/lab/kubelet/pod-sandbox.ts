/**
 * One container of a Pod inside a lab node, as the container runtime makes it: a root
 * filesystem made from the PULLED image (its own userland: the image's modprobe, not the
 * node's), /proc, /sys and /dev of the node (the lab's containers are privileged ones: it
 * has no user namespaces or cgroup limits), and the pod's hostPath volumes bind-mounted at
 * their mountPath, read-only when the manifest says so. The main process runs in its own
 * session so a stop reaches every process of the container (SIGTERM, then SIGKILL after the
 * grace period, as the kubelet's killContainer does). Each start writes its own log and
 * exit file, so the previous instance's log stays readable (`kubectl logs --previous`).
 */
import { SHARE_MOUNT } from '../os-image/init.js';
import { chrootExec, q } from '../control-plane/pod-runtime.js';
import type { NodeShell } from './node-agent.js';

export interface HostPathMount {
  hostPath: string;
  /** hostPath.type: '' | Directory | DirectoryOrCreate | File | … */
  type: string;
  mountPath: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  /** The pod's uid: the container's directory in the node. */
  uid: string;
  /** Image root filesystem, relative to the node's share. */
  sharePath: string;
  /** The container's own root already made from the image on the share (NodeImageStore.preparePodRoot), relative to the share. */
  preparedRoot?: string;
  /** Exec form: entrypoint + args, resolved from the manifest and the image config. */
  argv: string[];
  env: Record<string, string>;
  mounts: HostPathMount[];
}

/** Where each pod's files live in the guest: `<PODS_DIR>/<pod uid>/` (pid, logs, root). */
export const PODS_DIR = '/run/kmodlab-pods';
export const podDir = (uid: string) => `${PODS_DIR}/${uid}`;
/**
 * The container's root filesystem lives on the node's 9p share (host disk), not in the
 * guest's RAM: a node's root is a tmpfs of half its memory, and three copies of even the
 * small runtime-base image (a canary, a probe pod, a driver pod) filled a 256 MiB node
 * ("No space left on device"), as a container's writable layer never fills a node's RAM.
 * The kubelet makes it on the host (image-pull.ts preparePodRoot).
 */
const rootOf = (uid: string) => `${SHARE_MOUNT}/pods/${uid}/root`;

const UNMOUNT = (uid: string) => `for m in $(grep ' ${rootOf(uid)}' /proc/mounts | cut -d' ' -f2 | sort -r); do umount -l "$m" 2>/dev/null; done`;

/**
 * Starts creating instance `n` of the container in the background (copying the image root
 * takes seconds under TCG; the node's agent channel must stay free for heartbeats), then
 * its main process. probeContainer says when it runs, or why it could not be created.
 */
export async function startContainer(node: NodeShell, c: ContainerSpec, n: number): Promise<void> {
  const d = podDir(c.uid);
  const root = rootOf(c.uid);
  const mounts = c.mounts
    .map((m) => {
      const target = `${root}${m.mountPath.startsWith('/') ? '' : '/'}${m.mountPath}`;
      const check =
        m.type === 'Directory'
          ? `[ -d ${q(m.hostPath)} ] || { echo "hostPath type check failed: ${m.hostPath} is not a directory" >&2; exit 1; }`
          : m.type === 'File'
            ? `[ -f ${q(m.hostPath)} ] || { echo "hostPath type check failed: ${m.hostPath} is not a file" >&2; exit 1; }`
            : `[ -e ${q(m.hostPath)} ] || mkdir -p ${q(m.hostPath)}`;
      const mk = m.type === 'File' || m.type === 'FileOrCreate' ? `mkdir -p "$(dirname ${q(target)})"; touch ${q(target)}` : `mkdir -p ${q(target)}`;
      // The mount path is resolved inside the image (Debian's /lib is a symlink to usr/lib).
      return `${check}\n${mk}\nt=$(readlink -f ${q(target)})\nmount --bind ${q(m.hostPath)} "$t"${m.readOnly ? `\nmount -o remount,bind,ro "$t"` : ''}`;
    })
    .join('\n');
  const env = Object.entries(c.env)
    .map(([k, v]) => q(`${k}=${v}`))
    .join(' ');
  const create = `set -e
${UNMOUNT(c.uid)}
${c.preparedRoot ? `[ -d ${root} ] || { echo "container root ${root} is missing" >&2; exit 1; }` : `rm -rf ${root}; mkdir -p ${root}
cp -a ${SHARE_MOUNT}/${c.sharePath}/. ${root}/`}
mkdir -p ${root}/proc ${root}/sys ${root}/dev ${root}/tmp ${root}/run
mount -t proc proc ${root}/proc
mount --bind /sys ${root}/sys
mount --bind /dev ${root}/dev
${mounts}
setsid sh ${d}/run.${n}.sh </dev/null >${d}/log.${n} 2>&1 &
echo $! > ${d}/pid
`;
  const script = `set -e
mkdir -p ${d}
rm -f ${d}/pid ${d}/exit.${n} ${d}/create-failed.${n}
cat > ${d}/run.${n}.sh <<'KMODLAB_EOF'
env -i ${env} ${chrootExec(root, c.argv)}
echo $? > ${d}/exit.${n}
KMODLAB_EOF
cat > ${d}/create.${n}.sh <<'KMODLAB_EOF'
${create}
KMODLAB_EOF
( sh ${d}/create.${n}.sh >${d}/create.${n}.log 2>&1 || cp ${d}/create.${n}.log ${d}/create-failed.${n} ) </dev/null >/dev/null 2>&1 &`;
  const r = await node.exec(script, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error((r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('; '));
}

export interface ContainerProbe {
  state: 'creating' | 'create-failed' | 'running' | 'exited';
  /** Exit code of instance `n` once it ended. */
  exitCode?: number;
  /** Why it could not be created. */
  message?: string;
  /** Log bytes of instance `n` from `offset` on. */
  log: string;
}

/** Is instance `n` being created, running, or ended (how), and what did it print since `offset`. */
export async function probeContainer(node: NodeShell, uid: string, n: number, offset: number): Promise<ContainerProbe> {
  const d = podDir(uid);
  const r = await node.exec(
    `if [ -f ${d}/create-failed.${n} ]; then echo create-failed; tail -n 3 ${d}/create-failed.${n}; exit 0; fi
if ! p=$(cat ${d}/pid 2>/dev/null); then echo creating; exit 0; fi
if [ -d /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status; then echo running; else echo "exited $(cat ${d}/exit.${n} 2>/dev/null || echo 137)"; fi; tail -c +${offset + 1} ${d}/log.${n} 2>/dev/null`,
  );
  const nl = r.stdout.indexOf('\n');
  const head = nl >= 0 ? r.stdout.slice(0, nl) : r.stdout;
  const rest = nl >= 0 ? r.stdout.slice(nl + 1) : '';
  if (head === 'create-failed') return { state: 'create-failed', message: rest.trim().split('\n').join('; '), log: '' };
  if (head === 'creating') return { state: 'creating', log: '' };
  if (head === 'running') return { state: 'running', log: rest };
  return { state: 'exited', exitCode: Number(head.split(' ')[1] ?? '137'), log: rest };
}

/** Runs a hook (exec form) in the container's root, as the runtime's exec does. */
export async function execInContainer(node: NodeShell, uid: string, argv: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
  const e = Object.entries(env)
    .map(([k, v]) => q(`${k}=${v}`))
    .join(' ');
  const r = await node.exec(`env -i ${e} ${chrootExec(rootOf(uid), argv)} 2>&1`, { timeoutMs });
  return { code: r.code, output: (r.stdout + r.stderr).trim() };
}

/**
 * Stops the container: SIGTERM to every process of its session, SIGKILL to what is left
 * after `graceSeconds`; with `remove`, its mounts and directory go too. The waiting happens
 * in the node, in the background: the agent channel (and the node's heartbeat) is not held.
 */
export async function stopContainer(node: NodeShell, uid: string, graceSeconds: number, remove: boolean): Promise<void> {
  const d = podDir(uid);
  const tenths = Math.max(1, Math.round(graceSeconds * 10));
  await node.exec(
    `p=$(cat ${d}/pid 2>/dev/null) || p=none
# the processes of the container's session (field 6 of /proc/<pid>/stat), zombies aside
members() { for s in /proc/[0-9]*/stat; do set -- $(cat $s 2>/dev/null); [ "$6" = "$p" ] && [ "$3" != Z ] && echo $1; done; }
for x in $(members); do kill -TERM $x 2>/dev/null; done
( i=0; while [ -n "$(members)" ] && [ $i -lt ${tenths} ]; do sleep 0.1; i=$((i+1)); done
  for x in $(members); do kill -KILL $x 2>/dev/null; done
  ${remove ? `${UNMOUNT(uid)}; rm -rf ${d} ${SHARE_MOUNT}/pods/${uid}` : `rm -f ${d}/pid`} ) </dev/null >/dev/null 2>&1 &`,
  );
}
