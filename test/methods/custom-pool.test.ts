/**
 * `--pool <any pool>`: a custom pool (infra, gpu) is accepted; layering also renders its
 * MachineConfigPool the way OpenShift documents custom pools, and both layering and dtk
 * READMEs say how nodes join it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, ArtifactSetSchema, artifactText, findFile, type ArtifactSet, type K8sObject } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { UserError } from '../../src/errors.js';
import '../../src/methods/all.js';
import { dtkMethod } from '../../src/methods/dtk/index.js';
import { layeringMethod } from '../../src/methods/layering/index.js';
import { RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { renderMethods } from '../../src/methods/render.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';
import { testRelease } from '../support/releases.js';

const release = testRelease;

let driver: DriverSpec;
beforeAll(async () => {
  driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
});

function render(method: typeof dtkMethod, options: RenderOptionsInput, r = release('4.14.12')): ArtifactSet {
  return ArtifactSetSchema.parse(method.render(driver, r, RenderOptionsSchema.parse(options)));
}
const ofKind = (set: ArtifactSet, kind: string): K8sObject[] => allObjects(set).filter((o) => o.kind === kind);
const spec = (o: K8sObject): any => (o as any).spec;

describe('--pool', () => {
  it('accepts any DNS-1123 pool name and refuses others, naming the flag', () => {
    for (const pool of ['infra', 'gpu', 'accel-a100']) expect(() => renderMethods(driver, release('4.14.12'), 'dtk', { pool })).not.toThrow();
    for (const pool of ['Infra', 'gpu_nodes', '-gpu', 'a'.repeat(64)]) {
      expect(() => renderMethods(driver, release('4.14.12'), 'dtk', { pool })).toThrow(UserError);
      expect(() => renderMethods(driver, release('4.14.12'), 'dtk', { pool })).toThrow(/^--pool: expected a MachineConfigPool name/);
    }
  });
});

describe('layering, custom pool', () => {
  it('renders a schema-valid MachineConfigPool selecting worker + its role, on the node-role label', () => {
    const set = render(layeringMethod, { pool: 'gpu', registry: 'quay.io/acme' });
    const [mcp] = ofKind(set, 'MachineConfigPool');
    expect(mcp).toBeDefined();
    assertValidK8sObject(mcp!);
    expect(mcp!.metadata.name).toBe('gpu');
    expect(spec(mcp!).machineConfigSelector).toEqual({ matchExpressions: [{ key: 'machineconfiguration.openshift.io/role', operator: 'In', values: ['worker', 'gpu'] }] });
    expect(spec(mcp!).nodeSelector).toEqual({ matchLabels: { 'node-role.kubernetes.io/gpu': '' } });
    // the MachineConfig carries the role the pool selects
    const [mc] = ofKind(set, 'MachineConfig');
    expect(mc!.metadata.labels!['machineconfiguration.openshift.io/role']).toBe('gpu');
    const md = artifactText(findFile(set, 'README.md')!);
    expect(md).toContain('oc apply -f 00-machineconfigpool-gpu.yaml');
    expect(md).toContain('oc label node "$NODE" node-role.kubernetes.io/gpu=');
    expect(md).toContain("NODE=$(oc get nodes -l node-role.kubernetes.io/worker -o jsonpath='{.items[0].metadata.name}')");
    expect(md).toContain('oc wait mcp/gpu --for=condition=Updated');
  });

  it('no MachineConfigPool for the built-in pools', () => {
    for (const pool of ['worker', 'master']) expect(ofKind(render(layeringMethod, { pool, registry: 'quay.io/acme' }), 'MachineConfigPool')).toEqual([]);
  });

  it('Day 1: the pool goes into the installer manifests, with MachineSet label instructions', () => {
    const set = render(layeringMethod, { pool: 'infra', registry: 'quay.io/acme', day1: true });
    const f = findFile(set, 'openshift/99_openshift-machineconfigpool_infra.yaml');
    expect(f?.objects?.[0]?.kind).toBe('MachineConfigPool');
    const md = artifactText(findFile(set, 'README.md')!);
    expect(md).toContain('cp openshift/99_openshift-machineconfigpool_infra.yaml openshift/99_openshift-machineconfig_99-infra-kmodlab-simple-kmod.yaml "$INSTALL_DIR"/openshift/');
    expect(md).toContain('spec.template.spec.metadata.labels');
  });

  it('on-cluster: the MachineOSConfig names the custom pool, whose MachineConfigPool is rendered too', () => {
    const set = render(layeringMethod, { pool: 'gpu', registry: 'quay.io/acme', variant: 'on-cluster' }, release('4.19.3'));
    expect(spec(ofKind(set, 'MachineOSConfig')[0]!).machineConfigPool).toEqual({ name: 'gpu' });
    for (const o of allObjects(set)) assertValidK8sObject(o);
    expect(ofKind(set, 'MachineConfigPool')).toHaveLength(1);
  });
});

describe('dtk, custom pool', () => {
  it('runs the DaemonSet on the pool label and says how to label nodes (no MachineConfigPool needed)', () => {
    const set = render(dtkMethod, { pool: 'infra' });
    expect(ofKind(set, 'MachineConfigPool')).toEqual([]);
    const ds = ofKind(set, 'DaemonSet')[0]!;
    assertValidK8sObject(ds);
    expect(spec(ds).template.spec.nodeSelector).toEqual({ 'node-role.kubernetes.io/infra': '' });
    const md = artifactText(findFile(set, 'README.md')!);
    expect(md).toContain('oc label node "$NODE" node-role.kubernetes.io/infra=');
    expect(md).toContain('toleration');
  });
});
