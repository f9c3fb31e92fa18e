/**
 * A ClusterTarget pointed at the lab's real API server (no QEMU nodes, no controllers):
 * what the API server itself decides — NamespaceLifecycle, dry-run, foreground deletion,
 * the namespace controller — is the lab's real implementation, not a test fake.
 */
import { startTestApi, type TestApi } from '../lab/api-server-helpers.js';
import { ClusterTarget, type ClusterTargetOptions } from '../../src/targets/cluster/cluster-target.js';
import { typeKey } from '../../src/targets/lab/api-server/resources.js';
import type { ArtifactSet, K8sObject } from '../../src/artifacts/artifact-set.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver } from '../../src/driver/load.js';
import { ReleaseSchema } from '../../src/release/release.js';
import type { EventKind } from '../../src/evaluation/events.js';

export interface LabApiHarness {
  api: TestApi;
  events: { kind: EventKind; data: Record<string, unknown>; node?: string }[];
  connect(extra?: Partial<ClusterTargetOptions>): Promise<ClusterTarget>;
  /** The stored object, or undefined (read straight from the lab API's object service). */
  live(o: K8sObject): K8sObject | undefined;
  stop(): Promise<void>;
}

export async function labApiHarness(): Promise<LabApiHarness> {
  const api = await startTestApi();
  const events: LabApiHarness['events'] = [];
  const h: LabApiHarness = {
    api,
    events,
    connect: (extra = {}) =>
      ClusterTarget.connect({
        kubeconfig: api.kubeconfig,
        env: {},
        home: api.dir,
        emit: (kind, data, node) => events.push({ kind, data, node }),
        readyzIntervalMs: 200,
        probeIntervalMs: 50,
        pollMs: 20,
        prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
        watch: { backoffMs: { initial: 20, max: 200 } },
        // No controllers or kubelets run the canary here: do not wait minutes for it to answer.
        canaryReadyTimeoutMs: 500,
        ...extra,
      }),
    live: (o) => {
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
      const t = api.server.registry.findKind(group!, version!, o.kind);
      if (!t) return undefined;
      return api.server.store.get(typeKey(t), t.namespaced ? o.metadata.namespace : undefined, o.metadata.name) as K8sObject | undefined;
    },
    stop: () => api.stop(),
  };
  return h;
}

/** The reference driver's DTK set for an OpenShift 4.14 release (placeholder-free), the objects these tests apply. */
export async function referenceDtkSet(): Promise<ArtifactSet> {
  const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  const release = ReleaseSchema.parse({
    version: '4.14.12',
    kernelVersion: '5.14.0-284.52.1.el9_2.x86_64',
    driverToolkitImage: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'3'.repeat(64)}`,
    sources: {},
  });
  return renderMethods(driver, release, 'dtk')[0]!;
}
