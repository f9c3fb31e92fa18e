/**
 * Units of the lab's API-driven controllers that need no nodes: which nodes a DaemonSet's
 * pod belongs on (selector, affinity, taints against its and the daemon tolerations), and
 * how an image reference splits into repository and tag or digest.
 */
import type { V1DaemonSet, V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shouldRun } from '../../src/targets/lab/control-plane/api-controllers/daemonset.js';
import { parseImageRef } from '../../src/targets/lab/kubelet/image-pull.js';

const ds = (spec: object): V1DaemonSet => ({ spec: { selector: {}, template: { spec: { containers: [{ name: 'c', image: 'x' }], ...spec } } } }) as V1DaemonSet;
const node = (labels: Record<string, string>, taints: object[] = []): V1Node => ({ metadata: { name: 'n', labels }, spec: { taints } }) as V1Node;

describe('DaemonSet placement (NodeShouldRunDaemonPod)', () => {
  it('nodeSelector and required node affinity', () => {
    expect(shouldRun(ds({ nodeSelector: { 'node-role.kubernetes.io/worker': '' } }), node({ 'node-role.kubernetes.io/worker': '' }))).toBe(true);
    expect(shouldRun(ds({ nodeSelector: { 'node-role.kubernetes.io/worker': '' } }), node({ 'node-role.kubernetes.io/master': '' }))).toBe(false);
    const aff = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }] }] } } };
    expect(shouldRun(ds({ affinity: aff }), node({ k: 'a' }))).toBe(true);
    expect(shouldRun(ds({ affinity: aff }), node({ k: 'b' }))).toBe(false);
  });

  it('taints: NoSchedule needs a toleration; the daemon tolerations cover unschedulable and not-ready', () => {
    const gpu = { key: 'gpu', value: 'yes', effect: 'NoSchedule' };
    expect(shouldRun(ds({}), node({}, [gpu]))).toBe(false);
    expect(shouldRun(ds({ tolerations: [{ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }] }), node({}, [gpu]))).toBe(true);
    expect(shouldRun(ds({ tolerations: [{ key: 'gpu', operator: 'Equal', value: 'no' }] }), node({}, [gpu]))).toBe(false);
    expect(shouldRun(ds({ tolerations: [{ operator: 'Exists' }] }), node({}, [gpu]))).toBe(true);
    expect(shouldRun(ds({}), node({}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]))).toBe(true);
    expect(shouldRun(ds({}), node({}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }]))).toBe(true);
    // PreferNoSchedule does not keep a daemon pod away.
    expect(shouldRun(ds({}), node({}, [{ key: 'gpu', effect: 'PreferNoSchedule' }]))).toBe(true);
  });
});

describe('image references', () => {
  it('splits repository, tag and digest (a registry port is not a tag)', () => {
    expect(parseImageRef('127.0.0.1:5000/kmodlab/runtime-base:abc')).toEqual({ repository: '127.0.0.1:5000/kmodlab/runtime-base', tag: 'abc' });
    expect(parseImageRef('127.0.0.1:5000/kmodlab/runtime-base')).toEqual({ repository: '127.0.0.1:5000/kmodlab/runtime-base', tag: 'latest' });
    expect(parseImageRef('quay.io/a/b@sha256:0123')).toEqual({ repository: 'quay.io/a/b', digest: 'sha256:0123' });
  });
});
