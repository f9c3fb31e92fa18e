/**
 * Module truth on the host: a short-lived privileged pod pinned to one node (nodeName,
 * so the scheduler is not involved and it runs even on a cordoned node) mounts the
 * host's /sys read-only and prints what /sys/module/<m> says. "Loaded" means the kernel
 * shows the module there — never inferred from a KMM or DaemonSet status field. The
 * result is read from the pod's log; the pod is deleted afterwards.
 *
 * The kernel names module directories with '_' where the module name has '-'
 * (simple-kmod → /sys/module/simple_kmod), so the script looks the name up that way.
 */
import { createHash } from 'node:crypto';
import { dnsLabel } from '../../names.js';
import { LABEL_COMPONENT, LABEL_MANAGED_BY } from '../../labels.js';
import { sleep, type KubeClient, type ResourceRef } from './client.js';
import type { K8sObject } from '../../artifacts/artifact-set.js';

export const PODS: ResourceRef = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };

export interface ModuleProbe {
  module: string;
  loaded: boolean;
  coresizeBytes?: number;
  taint?: string;
  initstate?: string;
  /** Inferred from the taint: `E` = an unsigned module was loaded on a signing kernel. */
  signed?: boolean;
}

export interface ProbeOptions {
  client: KubeClient;
  namespace: string;
  node: string;
  modules: string[];
  /** An image with a POSIX shell and cat (default UBI minimal). */
  image?: string;
  timeoutMs?: number;
  pollMs?: number;
  /** Unload the modules first (`modprobe -r` on the host), then report as the probe does. */
  unload?: boolean;
}

export const DEFAULT_PROBE_IMAGE = 'registry.access.redhat.com/ubi9/ubi-minimal:latest';
const MODULE_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * The shell script the probe runs: one `kmodlab-probe` line per module. Shell builtins
 * only (`read`, `[`, `echo`): the probe runs in every wait round on every node, and a
 * process per value (cat, tr) was most of its time on a lab node, where each exec of an
 * image's binary costs 0.1-0.2 s under TCG. The sysfs directory name (`-` → `_`) is
 * worked out here, not in the pod.
 */
export function probeScript(modules: string[]): string {
  for (const m of modules) if (!MODULE_NAME.test(m)) throw new Error(`invalid module name ${JSON.stringify(m)}`);
  return [
    // v = the first line of $1 with blanks removed; "-" when the file cannot be read.
    // (The taint file is empty for an untainted module: v is then empty, not "-".)
    'val() { v=-; if [ -r "$1" ]; then v=; IFS=" " read -r w1 w2 w3 w4 2>/dev/null <"$1"; v="$w1$w2$w3$w4"; fi; }',
    'probe() {',
    '  d=/host/sys/module/$2',
    '  if [ -d "$d" ]; then',
    '    val "$d/coresize"; s=$v; val "$d/taint"; t=$v; [ "$t" = - ] && t=; val "$d/initstate"; i=$v',
    '    echo "kmodlab-probe $1 1 $s $t $i"',
    '  else',
    '    echo "kmodlab-probe $1 0"',
    '  fi',
    '}',
    ...modules.map((m) => `probe ${m} ${m.replace(/-/g, '_')}`),
  ].join('\n');
}

/** Parses the probe's log. Modules without a line are absent from the result (not "unloaded"). */
export function parseProbeLog(log: string): ModuleProbe[] {
  const out: ModuleProbe[] = [];
  for (const line of log.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'kmodlab-probe' || f.length < 3) continue;
    const module = f[1]!;
    if (f[2] !== '1') {
      out.push({ module, loaded: false });
      continue;
    }
    const p: ModuleProbe = { module, loaded: true };
    const size = Number(f[3]);
    if (f[3] && f[3] !== '-' && Number.isFinite(size)) p.coresizeBytes = size;
    // An empty taint file means untainted: `cat` printed nothing, so field 4 is the initstate.
    const rest = f.slice(4);
    if (rest.length === 2) {
      if (rest[0] !== '-') p.taint = rest[0];
      if (rest[1] !== '-') p.initstate = rest[1];
    } else if (rest.length === 1 && rest[0] !== '-') {
      p.initstate = rest[0];
      p.taint = '';
    }
    if (p.taint !== undefined) p.signed = !p.taint.includes('E');
    out.push(p);
  }
  return out;
}

export function probePod(namespace: string, node: string, modules: string[], image = DEFAULT_PROBE_IMAGE): K8sObject & Record<string, unknown> {
  const suffix = createHash('sha256').update(`${node}\0${Date.now()}\0${Math.random()}`).digest('hex').slice(0, 6);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: dnsLabel('kmodlab-probe', node, suffix),
      namespace,
      labels: { [LABEL_MANAGED_BY]: 'kmodlab', [LABEL_COMPONENT]: 'module-probe' },
    },
    spec: {
      nodeName: node,
      restartPolicy: 'Never',
      // Tolerate everything: the probe must run on masters, tainted and NotReady-recovering nodes.
      tolerations: [{ operator: 'Exists' }],
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'probe',
          image,
          command: ['/bin/sh', '-c', probeScript(modules)],
          // Privileged to see the host's /sys as it is (a non-privileged container gets a
          // masked view); read-only mount, no host PID/network.
          securityContext: { privileged: true, runAsUser: 0 },
          volumeMounts: [{ name: 'host-sys', mountPath: '/host/sys', readOnly: true }],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
        },
      ],
      volumes: [{ name: 'host-sys', hostPath: { path: '/sys', type: 'Directory' } }],
    },
  };
}

/**
 * The unload variant of the probe: the host's root is mounted at /host (so /host/sys is
 * the same place the probe reads), each module is removed with the host's own modprobe
 * (`chroot /host modprobe -r`, as KMM's worker unloads with the node's modprobe), and the
 * probe lines follow — what /sys shows afterwards, not what modprobe claimed.
 */
export function unloadPod(namespace: string, node: string, modules: string[], image = DEFAULT_PROBE_IMAGE): K8sObject & Record<string, unknown> {
  const pod = probePod(namespace, node, modules, image) as K8sObject & { metadata: { name: string; labels: Record<string, string> }; spec: { containers: { command: string[]; volumeMounts: unknown[] }[]; volumes: unknown[] } };
  pod.metadata.name = pod.metadata.name.replace(/^kmodlab-probe/, 'kmodlab-unload');
  pod.metadata.labels[LABEL_COMPONENT] = 'module-unload';
  const c = pod.spec.containers[0]!;
  c.command = ['/bin/sh', '-c', [`for m in ${modules.join(' ')}; do chroot /host modprobe -r "$m" 2>&1 | sed 's/^/kmodlab-unload: /'; done`, probeScript(modules)].join('\n')];
  c.volumeMounts = [{ name: 'host-root', mountPath: '/host' }];
  pod.spec.volumes = [{ name: 'host-root', hostPath: { path: '/', type: 'Directory' } }];
  return pod;
}

/** Runs one probe pod on `node`; returns what it saw, or throws with why not. */
export async function probeModules(o: ProbeOptions): Promise<ModuleProbe[]> {
  const pod = (o.unload ? unloadPod : probePod)(o.namespace, o.node, o.modules, o.image);
  const name = pod.metadata.name;
  await o.client.create('probe-pods', PODS, pod);
  try {
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    let phase = '';
    for (;;) {
      const cur = (await o.client.get('probe-pods', PODS, name, o.namespace)) as { metadata?: { deletionTimestamp?: string }; status?: { phase?: string } } | undefined;
      phase = cur?.status?.phase ?? '';
      if (phase === 'Succeeded' || phase === 'Failed') break;
      // Gone or going before it finished: a node drain deletes unmanaged pods too (the MCO
      // drains with Force, as `oc adm drain --force` does), and a pod that was deleted
      // never reports. Waiting out the timeout for it stalled every probe round across a
      // MachineConfig rollout by 120 s; the caller probes again with a new pod.
      if (!cur || cur.metadata?.deletionTimestamp) throw new Error(`probe pod ${name} on ${o.node} was deleted before it finished (phase ${phase || 'unknown'}; a node drain evicts pods)`);
      if (Date.now() >= deadline) throw new Error(`probe pod ${name} on ${o.node} did not finish within ${o.timeoutMs ?? 120_000} ms (phase ${phase || 'unknown'})`);
      await sleep(o.pollMs ?? 1000);
    }
    const log = await o.client.request('probe-pods', { method: 'GET', ref: PODS, namespace: o.namespace, name, subresource: 'log' });
    if (phase === 'Failed') throw new Error(`probe pod ${name} on ${o.node} failed`);
    const seen = parseProbeLog(log.text);
    const missing = o.modules.filter((m) => !seen.some((s) => s.module === m));
    if (missing.length > 0) throw new Error(`probe pod ${name} on ${o.node} printed nothing for ${missing.join(', ')}`);
    return seen;
  } finally {
    // Best effort: a probe left behind is harmless (it has exited) and carries our label.
    await o.client.deleteRef('probe-pods', PODS, name, o.namespace, { waitMs: 0 }).catch(() => undefined);
  }
}
