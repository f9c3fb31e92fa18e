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
import { randomBytes } from 'node:crypto';
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
  /**
   * The pod is not restarted when its container exits (restartPolicy Never/OnFailure): a
   * one-shot such as a module probe. The start then also waits briefly for it to end, so
   * its exit and log come back in the same round trip instead of the next relist's.
   */
  oneShot?: boolean;
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
 * Starts creating instance `n` of the container in the background (the node's agent
 * channel must stay free for heartbeats), then its main process; answers with its state
 * after a short wait (usually `running`, or already `exited` for a one-shot pod).
 * probeContainers says how it goes on, or why it could not be created.
 */
export async function startContainer(node: NodeShell, c: ContainerSpec, n: number): Promise<ContainerProbe> {
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
( sh ${d}/create.${n}.sh >${d}/create.${n}.log 2>&1 || cp ${d}/create.${n}.log ${d}/create-failed.${n} ) </dev/null >/dev/null 2>&1 &
# The root is made on the host, so creating is a few mounts: wait briefly for it and answer
# with the container's state in the same round trip (every request to a TCG guest costs
# a second or more under load; a relist later would cost another).
i=0; while [ $i -lt ${START_WAIT_TENTHS} ] && [ ! -f ${d}/pid ] && [ ! -f ${d}/create-failed.${n} ]; do sleep 0.1; i=$((i+1)); done
${c.oneShot ? `i=0; while [ $i -lt ${EXIT_WAIT_TENTHS} ] && [ -f ${d}/pid ] && [ ! -f ${d}/exit.${n} ]; do sleep 0.1; i=$((i+1)); done
` : ''}${stateScript(c.uid, n, 0)}`;
  const r = await node.exec(script, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error((r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('; '));
  return parseState(r.stdout);
}

/** How long startContainer waits in the guest for the new instance to run (tenths of a second). */
const START_WAIT_TENTHS = 20;
/** How long it then waits for a one-shot container to exit (tenths of a second). */
const EXIT_WAIT_TENTHS = 15;

export interface ContainerProbe {
  state: 'creating' | 'create-failed' | 'running' | 'exited';
  /** Exit code of instance `n` once it ended. */
  exitCode?: number;
  /** Why it could not be created. */
  message?: string;
  /** Log bytes of instance `n` from `offset` on. */
  log: string;
}

/** Shell lines printing instance `n`'s state line, then its log from byte `offset` on. */
function stateScript(uid: string, n: number, offset: number): string {
  const d = podDir(uid);
  // No pod directory: the node rebooted (it is on the guest's tmpfs) and took the container
  // with it; the kubelet then starts it again as its restart policy says, counting a restart.
  // Builtins where a value is read (pid, process state, exit code): the relist runs every
  // second, and each cat/grep was a fork and an exec on the guest's one vCPU. Only the log
  // tail from a byte offset needs a process. Every step succeeds: startContainer runs
  // this under `set -e`, where a failed read (the process already gone) ended the script.
  return `p= s= e=
if [ ! -d ${d} ]; then echo "exited 137"
elif [ -f ${d}/create-failed.${n} ]; then echo create-failed; tail -n 3 ${d}/create-failed.${n}
elif { read -r p <${d}/pid || :; } 2>/dev/null; [ -z "$p" ]; then echo creating
else { read -r s </proc/$p/stat || :; } 2>/dev/null; [ -z "$s" ] || set -- \${s##*) }
  if [ -n "$s" ] && [ "$1" != Z ]; then echo running; else { read -r e <${d}/exit.${n} || :; } 2>/dev/null; echo "exited \${e:-137}"; fi; tail -c +${offset + 1} ${d}/log.${n} 2>/dev/null || :
fi`;
}

function parseState(out: string): ContainerProbe {
  const nl = out.indexOf('\n');
  const head = nl >= 0 ? out.slice(0, nl) : out;
  const rest = nl >= 0 ? out.slice(nl + 1) : '';
  if (head === 'create-failed') return { state: 'create-failed', message: rest.trim().split('\n').join('; '), log: '' };
  if (head === 'creating') return { state: 'creating', log: '' };
  if (head === 'running') return { state: 'running', log: rest };
  return { state: 'exited', exitCode: Number(head.split(' ')[1] ?? '137'), log: rest };
}

export interface ContainerRef {
  uid: string;
  /** Instance number. */
  n: number;
  /** Log bytes already read. */
  offset: number;
}

/**
 * The state of every given container, in ONE request to the node — as the kubelet's PLEG
 * relist asks the runtime for all containers at once (pleg/generic.go relist → GetPods),
 * not once per pod: the guest answers one request at a time, so a request per pod made a
 * relist pass last seconds with a canary, a driver pod and a probe pod on the node.
 */
export async function probeContainers(node: NodeShell, refs: ContainerRef[]): Promise<Map<string, ContainerProbe>> {
  const out = new Map<string, ContainerProbe>();
  if (refs.length === 0) return out;
  // Each section opens with a marker line no container log can predict.
  const marker = `@@KMODLAB-RELIST-${randomBytes(6).toString('hex')}`;
  const r = await node.exec(refs.map((c) => `printf '\\n${marker} %s\\n' ${c.uid}\n${stateScript(c.uid, c.n, c.offset)}`).join('\n'));
  for (const section of r.stdout.split(`\n${marker} `).slice(1)) {
    const nl = section.indexOf('\n');
    const uid = nl >= 0 ? section.slice(0, nl) : section;
    out.set(uid, parseState(nl >= 0 ? section.slice(nl + 1) : ''));
  }
  return out;
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
 * A container whose main process has exited and that the kubelet will not restart
 * (`exited`) has nothing to signal: only its mounts and files are removed.
 */
export async function stopContainer(node: NodeShell, uid: string, graceSeconds: number, remove: boolean, exited = false): Promise<void> {
  const d = podDir(uid);
  const tenths = Math.max(1, Math.round(graceSeconds * 10));
  const cleanup = remove ? `${UNMOUNT(uid)}; rm -rf ${d} ${SHARE_MOUNT}/pods/${uid}` : `rm -f ${d}/pid`;
  if (exited) {
    await node.exec(`( ${cleanup} ) </dev/null >/dev/null 2>&1 &`);
    return;
  }
  await node.exec(
    `p=$(cat ${d}/pid 2>/dev/null) || p=none
# the processes of the container's session (field 6 of /proc/<pid>/stat), zombies aside; one
# awk over every stat file, not a process per pid (each fork costs under TCG)
members() { awk -v p="$p" '$6 == p && $3 != "Z" { print $1 }' /proc/[0-9]*/stat 2>/dev/null; }
for x in $(members); do kill -TERM $x 2>/dev/null; done
( i=0; while [ -n "$(members)" ] && [ $i -lt ${tenths} ]; do sleep 0.1; i=$((i+1)); done
  for x in $(members); do kill -KILL $x 2>/dev/null; done
  ${cleanup} ) </dev/null >/dev/null 2>&1 &`,
  );
}
