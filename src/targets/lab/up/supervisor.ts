/**
 * The background lab: one process that owns the API server and the QEMU nodes, created as
 * an ordered list of actions like kind's cluster creation (kubernetes-sigs/kind
 * pkg/cluster/internal/create/create.go):
 *   1. start the API server (its own lean process, main.js) and wait for /readyz; create
 *      the installer manifests given with --manifests (install-manifests.ts);
 *   2. start the node lifecycle controller (talks to the API only);
 *   3. provision the QEMU nodes;
 *   4. start one node agent per node, which registers the Node through the API and
 *      posts its status; ready when every node has posted Ready=True;
 *   5. start the controllers (DaemonSet, Deployment, ReplicaSet, the scheduler, Build,
 *      ClusterVersion, the Machine Config Operator that reboots the nodes into new OS
 *      images, OLM and KMM) and the kubelets' pod side, which run
 *      the Pods bound to each node. Controllers and kubelets share one informer per
 *      resource type (control-plane/informers.ts); images come from the lab registry,
 *      which this process keeps open while the lab runs.
 * Nothing it starts outlives it: QEMU and the API server run under `setpriv --pdeathsig
 * SIGKILL` (they die with this process even if it is SIGKILLed), the node registry kills
 * QEMU on exit and on signals, and SIGTERM/SIGINT stop everything in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { BuildController, IMAGESTREAMS } from '../control-plane/api-controllers/builds.js';
import { DaemonSetController } from '../control-plane/api-controllers/daemonset.js';
import { MachineConfigController } from '../control-plane/api-controllers/machineconfig.js';
import { MachineOSConfigController } from '../control-plane/api-controllers/machineosconfig.js';
import { labBaseRelease } from '../control-plane/api-controllers/mco/base-release.js';
import { insecureRegistry, nodeLocalDir, shareDir, startMachines, type BootingMachines, type MachineSpec } from './machines.js';
import { KmmModuleController } from '../control-plane/api-controllers/kmm-module.js';
import { OlmController } from '../control-plane/api-controllers/olm.js';
import { DeploymentController } from '../control-plane/api-controllers/deployment.js';
import { ReplicaSetController } from '../control-plane/api-controllers/replicaset.js';
import { Scheduler } from '../control-plane/api-controllers/scheduler.js';
import { ClusterVersionController } from '../control-plane/api-controllers/clusterversion.js';
import { labReleaseOffers } from '../images/lab-release.js';
import { SharedInformers } from '../control-plane/informers.js';
import type { LabRegistry } from '../images/registry.js';
import { Kubelets } from '../kubelet/kubelets.js';
import { SERVER_ENTRY, readyz } from '../api-server/background.js';
import { findTool } from '../host/tools.js';
import { listKernels, type LabKernel } from '../kernels/catalog.js';
import { NodeAgent } from '../kubelet/node-agent.js';
import { nodeApiFromKubeconfig } from '../kubelet/node-api.js';
import { LAB_NODE_TIMING, NodeLifecycleController } from '../control-plane/controllers/node-lifecycle.js';
import type { LabNode } from '../node/node.js';
import { CrashRestarter } from '../node/crash-restart.js';
import { deleteNodes, roleLabels } from '../node/provider.js';
import { labFiles, writeState, type LabState } from './state.js';
import { createInstallManifests, type InstallManifest } from './install-manifests.js';
import { startLabMetrics, type LabMetrics } from '../metrics/lab-metrics.js';
import { LabUsageSource, type LabNodeHandle } from '../metrics/lab-usage.js';
import { PODS_DIR } from '../kubelet/pod-sandbox.js';
import { LAB_HOST_PORTS } from '../api-server/node-object.js';
import { CANARY_GUEST_PORT } from '../os-image/init.js';

export interface LabSpec extends MachineSpec {
  kubeconfigOut: string;
  port: number;
  /** Installer manifests (`--manifests`): created through the API before the nodes are provisioned. */
  manifests?: InstallManifest[];
}

export interface RunningLab {
  stop(): Promise<void>;
}

export { insecureRegistry } from './machines.js';

/** Spawn `cmd args` so that it is SIGKILLed when this process dies (setpriv execs: same pid). */
function spawnTied(cmd: string, args: string[]): ChildProcess {
  const setpriv = findTool('setpriv');
  return setpriv ? spawn(setpriv, ['--pdeathsig', 'SIGKILL', cmd, ...args], { stdio: 'inherit' }) : spawn(cmd, args, { stdio: 'inherit' });
}

async function startApi(spec: LabSpec): Promise<ChildProcess> {
  const child = spawnTied(process.execPath, [SERVER_ENTRY, '--kubeconfig-out', spec.kubeconfigOut, '--port', String(spec.port)]);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`the lab API exited (code ${exited}) before it was ready`);
    if ((await readyz(spec.kubeconfigOut)).ok) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error('the lab API was not ready within 30 s');
}

/**
 * The releases the lab's ClusterVersion offers: its kernels' release images. A realtime
 * kernel is not another release: OpenShift boots it from the same release (MachineConfig
 * kernelType: realtime), so rt flavours are not offered as updates.
 */
function releaseKernels(kernel: LabKernel): LabKernel[] {
  return listKernels().filter((k) => k.kver === kernel.kver || !k.flavour.startsWith('rt'));
}

export async function runLab(spec: LabSpec, machines?: Promise<BootingMachines>): Promise<RunningLab> {
  const files = labFiles();
  const state: LabState = { phase: 'starting', supervisorPid: process.pid, kubeconfig: spec.kubeconfigOut, nodes: [] };
  writeState(state);
  let api: ChildProcess | undefined;
  let controller: NodeLifecycleController | undefined;
  let nodes: LabNode[] = [];
  const agents: NodeAgent[] = [];
  let informers: SharedInformers | undefined;
  let kubelets: Kubelets | undefined;
  let daemonsets: DaemonSetController | undefined;
  let builds: BuildController | undefined;
  let mco: MachineConfigController | undefined;
  let mosc: MachineOSConfigController | undefined;
  let olm: OlmController | undefined;
  let kmm: KmmModuleController | undefined;
  let workloads: { stop(): Promise<void> }[] = [];
  let registry: LabRegistry | undefined;
  let metrics: LabMetrics | undefined;
  let restarter: CrashRestarter | undefined;

  const stop = async () => {
    await restarter?.stop();
    await metrics?.stop();
    await mosc?.stop();
    await mco?.stop();
    await olm?.stop();
    await kmm?.stop();
    await daemonsets?.stop();
    for (const w of workloads) await w.stop();
    await builds?.stop();
    await kubelets?.stop();
    await informers?.stop();
    await Promise.all(agents.map((a) => a.stop()));
    await controller?.stop();
    await registry?.stop();
    await deleteNodes(nodes);
    if (api && api.exitCode === null && api.signalCode === null) {
      const gone = new Promise((r) => api!.once('exit', r));
      api.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
      if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
    }
  };

  // The machines boot while the API server starts (a TCG boot and a node process start
  // are both seconds of this host's time); they join — register as Nodes — only after
  // the API is up and the installer manifests are in it, as below. main.ts started the
  // boot before this module was loaded (machines.ts).
  let booting: Promise<LabNode[]> | undefined;
  let offersAhead: ReturnType<typeof labReleaseOffers> | undefined;
  let baseAhead: ReturnType<typeof labBaseRelease> | undefined;
  try {
    const started = await (machines ?? startMachines(spec));
    registry = started.registry;
    booting = started.booting;
    // Adopted below; a failure before that is collected in the catch (its nodes stopped there).
    booting?.then((n) => (nodes = n)).catch(() => undefined);
    api = await startApi(spec);
    state.apiPid = api.pid;
    writeState(state);
    spec.log(`lab API ready (pid ${api.pid})`);
    const client = nodeApiFromKubeconfig(spec.kubeconfigOut);
    controller = new NodeLifecycleController({ api: client, monitorPeriodMs: LAB_NODE_TIMING.monitorPeriodMs, gracePeriodMs: LAB_NODE_TIMING.gracePeriodMs, log: spec.log });
    controller.start();
    const kc = new KubeConfig();
    kc.loadFromFile(spec.kubeconfigOut);
    // Installer manifests exist before any machine does (install-manifests.ts): the pools
    // render with their MachineConfigs and the controllers act on them as the nodes join.
    if (spec.manifests?.length) await createInstallManifests(kc, spec.manifests, spec.log);
    informers = new SharedInformers(kc, spec.log);
    kubelets = new Kubelets(informers, kc.getCurrentUser()?.token ?? '', insecureRegistry, spec.log);
    const kubeletPort = await kubelets.listen();
    if (spec.nodes > 0) {
      // What the ClusterVersion and machine-config controllers start from is looked up in
      // the registry while the machines boot (seconds of registry requests under load).
      if (registry && spec.kernel) {
        offersAhead = labReleaseOffers(registry, releaseKernels(spec.kernel));
        baseAhead = labBaseRelease(spec.kernel, registry, spec.log);
        // Awaited where they are used; a failure surfaces there.
        offersAhead.catch(() => undefined);
        baseAhead.catch(() => undefined);
      }
      nodes = await booting!;
      state.nodes = nodes.map((n) => ({ name: n.name, kernel: n.kernel.kver, qemuPid: n.pid, consoleLog: n.consoleLog }));
      writeState(state);
      const labels = roleLabels(spec.nodes);
      for (const node of nodes) {
        // The guest's canary port as the host reaches it (the lab API's pod proxy forwards there).
        const annotations = node.canaryPort !== undefined ? { [LAB_HOST_PORTS]: JSON.stringify({ [CANARY_GUEST_PORT]: node.canaryPort }) } : undefined;
        const agent = new NodeAgent({ api: client, node, labels, annotations, heartbeatMs: LAB_NODE_TIMING.heartbeatMs, probeTimeoutMs: LAB_NODE_TIMING.gracePeriodMs - LAB_NODE_TIMING.heartbeatMs, log: spec.log, kubeletPort, intendedKernel: () => node.kernel.kver });
        await agent.register();
        agent.start();
        agents.push(agent);
        spec.log(`node ${node.name}: registered, Ready (kernel ${agent.facts?.kernelVersion}, boot ${agent.facts?.bootID}, QEMU pid ${node.pid})`);
        await kubelets.add({ node, shareDir: shareDir(node.name) });
      }
    }
    if (nodes.length > 0) {
      restarter = new CrashRestarter({ nodes: () => nodes, ready: async (name) => (await client.getNode(name))?.status?.conditions?.find((c) => c.type === 'Ready')?.status, log: spec.log });
      restarter.start();
      // cAdvisor-style /metrics of the nodes and their pods, scraped by Debian's prometheus:
      // the cluster target reads memory and CPU from it with the PromQL it runs on OpenShift.
      const k = kubelets;
      const handles: LabNodeHandle[] = nodes.map((n) => ({ name: n.name, ready: () => n.state === 'ready', exec: (script) => n.exec(script), qemuPid: () => n.pid, pods: () => k.running(n.name), podsDir: PODS_DIR }));
      metrics = await startLabMetrics(new LabUsageSource(() => handles), { dir: path.join(files.runDir, 'prometheus') }).catch((e: Error) => {
        spec.log(`no Prometheus: memory and CPU cannot be queried (${e.message.split('\n')[0]})`);
        return undefined;
      });
      if (metrics) {
        state.prometheusUrl = metrics.prometheusUrl;
        state.prometheusPid = metrics.prometheusPid;
        spec.log(`metrics ${metrics.metricsUrl}, Prometheus ${metrics.prometheusUrl}`);
      }
    }
    if (registry) {
      builds = new BuildController({ kc, informers, registry, log: spec.log });
      await builds.start();
    }
    const b = builds;
    daemonsets = new DaemonSetController({ kc, informers, log: spec.log, resolveTag: b ? (ns, stream, tag) => b.resolveTag(ns, stream, tag) : undefined });
    await daemonsets.start();
    // Deployments → ReplicaSets → Pods, bound by the scheduler (pods without a nodeName).
    const scheduler = new Scheduler({ kc, informers, log: spec.log });
    const replicasets = new ReplicaSetController({ kc, informers, log: spec.log });
    const deployments = new DeploymentController({ kc, informers, log: spec.log });
    workloads = [deployments, replicasets, scheduler];
    for (const w of [scheduler, replicasets, deployments]) await w.start();
    // ClusterVersion `version`: the lab's releases are its kernels' release images in the registry.
    if (registry && spec.kernel) {
      const offers = await (offersAhead ?? labReleaseOffers(registry, releaseKernels(spec.kernel)));
      const current = offers.find((o) => o.kver === spec.kernel!.kver);
      if (current) {
        const cvo = new ClusterVersionController({ kc, informers, offers, current, log: spec.log });
        await cvo.start();
        workloads.push(cvo);
      } else spec.log(`no ClusterVersion: the lab release of kernel ${spec.kernel.kver} is not in the registry (kmodlab lab setup --kernels ${spec.kernel.kver})`);
    }
    // A tag moving (a build pushed) is a reason to look at the DaemonSets again.
    if (b) await informers.subscribe(IMAGESTREAMS, () => daemonsets?.kick());
    if (spec.kernel) {
      const release = await (baseAhead ?? labBaseRelease(spec.kernel, registry, spec.log));
      mco = new MachineConfigController({ kc, informers, nodes, registry, insecure: insecureRegistry, release, nodeStateDir: nodeLocalDir(), log: spec.log });
      await mco.start();
    }
    // On-cluster layering: MachineOSConfig → MachineOSBuild (built with buildah, pushed to the registry).
    if (registry) {
      mosc = new MachineOSConfigController({ kc, informers, registry, builds, log: spec.log });
      await mosc.start();
    }
    // OLM, and the KMM operator it installs (its Module controller runs while the CSV is Succeeded).
    if (registry) kmm = new KmmModuleController({ kc, informers, registry, log: spec.log });
    const k = kmm;
    olm = new OlmController({ kc, informers, log: spec.log, onOperator: (running) => k?.setRunning(running) });
    await olm.start();
    spec.log(`controllers running (${informers.watchCount} watches: one per resource type)`);
    state.phase = 'ready';
    writeState(state);
    return { stop };
  } catch (e) {
    state.phase = 'failed';
    state.error = (e as Error).message;
    writeState(state);
    // Machines still booting are waited for, so that stop() deletes them too.
    if (booting) nodes = await booting.catch(() => []);
    await stop();
    throw e;
  }
}
