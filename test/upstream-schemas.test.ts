/**
 * Proves the upstream-schema oracle (test/support/upstream-schemas.ts) works for every
 * family of schemas: accepts valid objects, rejects unknown fields, wrong types and
 * missing required fields, and reports readable paths.
 */
import { copyFile, mkdtemp, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertValidK8sObject, hasSchemaFor, validateK8sObject, type SchemaIssue } from './support/upstream-schemas.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Path of every issue, for compact assertions. */
function paths(obj: unknown): string[] {
  return validateK8sObject(obj).map((i) => i.path);
}

function issueAt(obj: unknown, at: string): SchemaIssue | undefined {
  return validateK8sObject(obj).find((i) => i.path === at);
}

// ---------------------------------------------------------------------------
// Fixtures: minimal valid objects, one per kind (fresh copies so tests can mutate)
// ---------------------------------------------------------------------------

const meta = (name: string, namespace?: string): Obj => ({ name, ...(namespace ? { namespace } : {}) });

function kmmModule(): Obj {
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { ...meta('simple-kmod', 'kmodlab'), labels: { 'app.kubernetes.io/name': 'simple-kmod' } },
    spec: {
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'simple_kmod', parameters: ['debug=1'] },
          kernelMappings: [{ regexp: '^.+\\.el9.*$', containerImage: 'quay.io/acme/simple-kmod:${KERNEL_FULL_VERSION}' }],
        },
        serviceAccountName: 'simple-kmod',
      },
      selector: { 'node-role.kubernetes.io/worker': '' },
    },
  };
}

function machineConfig(): Obj {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfig',
    metadata: { name: '99-worker-simple-kmod', labels: { 'machineconfiguration.openshift.io/role': 'worker' } },
    spec: {
      osImageURL: 'quay.io/acme/rhcos-kmod@sha256:0123',
      kernelType: 'default',
      extensions: ['kernel-devel'],
      kernelArguments: null, // nullable in the CRD
      // Ignition is opaque to the CRD (x-kubernetes-preserve-unknown-fields).
      config: { ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/x', anything: true }] } },
    },
  };
}

function machineConfigPool(): Obj {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfigPool',
    metadata: { name: 'kmod' },
    spec: {
      machineConfigSelector: { matchExpressions: [{ key: 'machineconfiguration.openshift.io/role', operator: 'In', values: ['worker', 'kmod'] }] },
      nodeSelector: { matchLabels: { 'node-role.kubernetes.io/kmod': '' } },
      maxUnavailable: 1,
    },
  };
}

function machineOSConfig(): Obj {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineOSConfig',
    metadata: { name: 'worker' },
    spec: {
      machineConfigPool: { name: 'worker' },
      imageBuilder: { imageBuilderType: 'Job' },
      renderedImagePushSecret: { name: 'push-secret' },
      renderedImagePushSpec: 'image-registry.openshift-image-registry.svc:5000/openshift-machine-config-operator/os-image:latest',
      containerFile: [{ content: 'FROM configs AS final\nRUN true' }],
    },
  };
}

function machineOSBuild(): Obj {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineOSBuild',
    metadata: { name: 'worker-build-1' },
    spec: {
      machineConfig: { name: 'rendered-worker-0123456789abcdef' },
      machineOSConfig: { name: 'worker' },
      renderedImagePushSpec: 'quay.io/acme/os-image:latest',
    },
  };
}

function scc(): Obj {
  return {
    apiVersion: 'security.openshift.io/v1',
    kind: 'SecurityContextConstraints',
    metadata: { name: 'kmodlab-privileged' },
    allowHostDirVolumePlugin: true,
    allowHostIPC: false,
    allowHostNetwork: false,
    allowHostPID: false,
    allowHostPorts: false,
    allowPrivilegedContainer: true,
    allowedCapabilities: null,
    defaultAddCapabilities: null,
    requiredDropCapabilities: null,
    priority: null,
    readOnlyRootFilesystem: false,
    volumes: ['hostPath', 'configMap', 'secret'],
    runAsUser: { type: 'RunAsAny' },
    seLinuxContext: { type: 'RunAsAny' },
    users: ['system:serviceaccount:kmodlab:simple-kmod'],
  };
}

function subscription(): Obj {
  return {
    apiVersion: 'operators.coreos.com/v1alpha1',
    kind: 'Subscription',
    metadata: meta('kernel-module-management', 'openshift-kmm'),
    spec: {
      channel: 'stable',
      name: 'kernel-module-management',
      source: 'redhat-operators',
      sourceNamespace: 'openshift-marketplace',
      installPlanApproval: 'Automatic',
    },
  };
}

function operatorGroup(apiVersion = 'operators.coreos.com/v1'): Obj {
  return {
    apiVersion,
    kind: 'OperatorGroup',
    metadata: meta('kernel-module-management', 'openshift-kmm'),
    spec: { targetNamespaces: ['openshift-kmm'] },
  };
}

function pod(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta('dtk-build', 'kmodlab'),
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'build',
          image: 'registry.redhat.io/openshift4/driver-toolkit-rhel9:v4.16',
          command: ['/bin/sh', '-c', 'make'],
          securityContext: { privileged: true, capabilities: { add: ['SYS_MODULE'] } },
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 2 } },
          volumeMounts: [{ name: 'modules', mountPath: '/lib/modules', readOnly: true }],
        },
      ],
      volumes: [{ name: 'modules', hostPath: { path: '/lib/modules', type: 'Directory' } }],
    },
  };
}

function buildConfig(): Obj {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: meta('simple-kmod', 'kmodlab'),
    spec: {
      runPolicy: 'Serial',
      source: { type: 'Dockerfile', dockerfile: 'FROM scratch\n' },
      strategy: {
        type: 'Docker',
        dockerStrategy: {
          buildArgs: [{ name: 'KVER', value: '5.14.0-427.el9.x86_64' }],
          from: { kind: 'ImageStreamTag', name: 'driver-toolkit:latest', namespace: 'openshift' },
        },
      },
      output: { to: { kind: 'ImageStreamTag', name: 'simple-kmod:latest' } },
      triggers: [{ type: 'ConfigChange' }],
    },
  };
}

function imageStream(): Obj {
  return {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: meta('simple-kmod', 'kmodlab'),
    spec: { lookupPolicy: { local: true } },
  };
}

function daemonSet(): Obj {
  const labels = { 'app.kubernetes.io/name': 'simple-kmod' };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { ...meta('simple-kmod', 'kmodlab'), labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: 'simple-kmod',
          nodeSelector: { 'node-role.kubernetes.io/worker': '' },
          containers: [
            {
              name: 'loader',
              image: 'quay.io/acme/simple-kmod:5.14.0',
              command: ['sleep', 'infinity'],
              securityContext: { privileged: true },
              resources: { limits: { cpu: 1, memory: '64Mi' } },
              lifecycle: { preStop: { exec: { command: ['modprobe', '-r', 'simple_kmod'] } } },
            },
          ],
        },
      },
    },
  };
}

function deployment(): Obj {
  const ds = daemonSet();
  return { ...ds, kind: 'Deployment', spec: { replicas: 1, selector: ds.spec.selector, template: ds.spec.template } };
}

// ---------------------------------------------------------------------------

describe('schema lookup', () => {
  const known: [string, string][] = [
    ['kmm.sigs.x-k8s.io/v1beta1', 'Module'],
    ['kmm.sigs.x-k8s.io/v1beta1', 'PreflightValidation'],
    ['kmm.sigs.x-k8s.io/v1beta2', 'PreflightValidation'],
    ['kmm.sigs.x-k8s.io/v1beta1', 'NodeModulesConfig'],
    ['kmm.sigs.x-k8s.io/v1beta1', 'ModuleBuildSignConfig'],
    ['kmm.sigs.x-k8s.io/v1beta1', 'ModuleImagesConfig'],
    ['hub.kmm.sigs.x-k8s.io/v1beta1', 'ManagedClusterModule'],
    ['machineconfiguration.openshift.io/v1', 'MachineConfig'],
    ['machineconfiguration.openshift.io/v1', 'MachineConfigPool'],
    ['machineconfiguration.openshift.io/v1', 'MachineOSConfig'],
    ['machineconfiguration.openshift.io/v1', 'MachineOSBuild'],
    ['security.openshift.io/v1', 'SecurityContextConstraints'],
    ['operators.coreos.com/v1alpha1', 'Subscription'],
    ['operators.coreos.com/v1', 'OperatorGroup'],
    ['operators.coreos.com/v1alpha2', 'OperatorGroup'],
    ['build.openshift.io/v1', 'BuildConfig'],
    ['image.openshift.io/v1', 'ImageStream'],
    ['v1', 'Namespace'],
    ['v1', 'ServiceAccount'],
    ['v1', 'ConfigMap'],
    ['v1', 'Secret'],
    ['v1', 'Pod'],
    ['rbac.authorization.k8s.io/v1', 'Role'],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
    ['apps/v1', 'DaemonSet'],
    ['apps/v1', 'Deployment'],
    ['batch/v1', 'Job'],
  ];
  it.each(known)('knows %s %s', (apiVersion, kind) => {
    expect(hasSchemaFor(apiVersion, kind)).toBe(true);
  });

  it.each([
    ['kmm.sigs.x-k8s.io/v1alpha1', 'Module'], // version the CRD does not serve
    ['machineconfiguration.openshift.io/v1alpha1', 'MachineOSConfig'], // not in the shipped CRD files
    ['apps/v1', 'DaemonSetSpec'], // a nested type, not a resource
    ['example.com/v1', 'Widget'],
    ['../../etc/v1', 'Passwd'],
  ])('does not claim %s %s', (apiVersion, kind) => {
    expect(hasSchemaFor(apiVersion, kind)).toBe(false);
  });

  it('throws for an unknown kind or a non-object', () => {
    expect(() => validateK8sObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(
      /no upstream schema known for apiVersion "example.com\/v1" kind "Widget"/,
    );
    expect(() => validateK8sObject({ ...kmmModule(), apiVersion: 'kmm.sigs.x-k8s.io/v1alpha1' })).toThrow(
      /Module is known as kmm\.sigs\.x-k8s\.io\/v1beta1/,
    );
    expect(() => validateK8sObject('kind: Pod')).toThrow(TypeError);
    expect(() => validateK8sObject({ kind: 'Pod' })).toThrow(/apiVersion and kind/);
  });
});

describe('KMM CRDs', () => {
  it('accepts a valid Module', () => {
    expect(validateK8sObject(kmmModule())).toEqual([]);
  });

  it('rejects unknown fields with a readable path', () => {
    const m = kmmModule();
    m.spec.moduleLoader.container.kernelMappings[0].bogus = 1;
    m.spec.moduleLoader.container.modprobe.module = 'x';
    expect(validateK8sObject(m)).toEqual(
      expect.arrayContaining([
        { path: 'spec.moduleLoader.container.kernelMappings[0].bogus', message: 'unknown field "bogus"' },
        { path: 'spec.moduleLoader.container.modprobe.module', message: 'unknown field "module"' },
      ]),
    );
  });

  it('rejects wrong types', () => {
    const m = kmmModule();
    m.spec.moduleLoader.container.modprobe.parameters = 'debug=1';
    m.spec.selector = { 'node-role.kubernetes.io/worker': true };
    expect(issueAt(m, 'spec.moduleLoader.container.modprobe.parameters')?.message).toBe('must be array');
    expect(issueAt(m, 'spec.selector["node-role.kubernetes.io/worker"]')?.message).toBe('must be string');
  });

  it('rejects missing required fields (selector, containerImage per kernel mapping, at least one mapping)', () => {
    const m = kmmModule();
    delete m.spec.selector;
    delete m.spec.moduleLoader.container.kernelMappings[0].containerImage;
    expect(paths(m)).toEqual(expect.arrayContaining(['spec.selector', 'spec.moduleLoader.container.kernelMappings[0].containerImage']));
    const none = kmmModule();
    none.spec.moduleLoader.container.kernelMappings = [];
    expect(issueAt(none, 'spec.moduleLoader.container.kernelMappings')?.message).toMatch(/fewer than 1/);
  });

  it('handles int-or-string quantities (x-kubernetes-int-or-string) in device plugin resources', () => {
    const m = kmmModule();
    m.spec.devicePlugin = { container: { image: 'quay.io/acme/dp:1', resources: { limits: { cpu: 1, memory: '128Mi' } } } };
    expect(validateK8sObject(m)).toEqual([]);
    m.spec.devicePlugin.container.resources.limits = { cpu: true, memory: 'lots' };
    expect(issueAt(m, 'spec.devicePlugin.container.resources.limits.cpu')?.message).toBe('must be integer or string');
    expect(issueAt(m, 'spec.devicePlugin.container.resources.limits.memory')?.message).toMatch(/must match pattern/);
  });

  it('treats a bare `type: object` in a CRD as closed (the apiserver prunes its content)', () => {
    const m = kmmModule();
    m.spec.devicePlugin = {
      container: { image: 'quay.io/acme/dp:1' },
      volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { metadata: { labels: { a: 'b' } }, spec: {} } } }],
    };
    expect(paths(m)).toEqual(['spec.devicePlugin.volumes[0].ephemeral.volumeClaimTemplate.metadata.labels']);
  });

  it('validates the other KMM CRDs (PreflightValidation, ModuleImagesConfig, ManagedClusterModule)', () => {
    const pfv = {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
      kind: 'PreflightValidation',
      metadata: meta('preflight'),
      spec: { kernelVersion: '5.14.0-427.el9.x86_64', pushBuiltImage: true },
    };
    expect(validateK8sObject(pfv)).toEqual([]);
    expect(paths({ ...pfv, spec: { pushBuiltImage: 'yes' } })).toEqual(['spec.kernelVersion', 'spec.pushBuiltImage']);

    const mic = {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ModuleImagesConfig',
      metadata: meta('simple-kmod', 'kmodlab'),
      spec: { images: [{ image: 'quay.io/acme/simple-kmod:5.14', kernelVersion: '5.14.0' }] },
    };
    expect(validateK8sObject(mic)).toEqual([]);
    expect(paths({ ...mic, spec: { images: [{ image: 'x', kernelVersion: 'y', extra: 1 }] } })).toEqual(['spec.images[0].extra']);

    const mcm = {
      apiVersion: 'hub.kmm.sigs.x-k8s.io/v1beta1',
      kind: 'ManagedClusterModule',
      metadata: meta('simple-kmod'),
      spec: { spokeNamespace: 'kmodlab', selector: { env: 'lab' }, moduleSpec: kmmModule().spec },
    };
    expect(validateK8sObject(mcm)).toEqual([]);
    expect(paths({ ...mcm, spec: { ...mcm.spec, spokeNamespace: undefined } })).toEqual(['spec.spokeNamespace']);
  });
});

describe('OpenShift machineconfiguration and security CRDs', () => {
  it('accepts a valid MachineConfig with opaque Ignition config', () => {
    expect(validateK8sObject(machineConfig())).toEqual([]);
  });

  it('rejects unknown fields, wrong types and a non-nullable null in a MachineConfig', () => {
    const mc = machineConfig();
    mc.spec.kernelArgs = ['quiet'];
    mc.spec.extensions = 'kernel-devel';
    mc.spec.osImageURL = null;
    expect(validateK8sObject(mc)).toEqual(
      expect.arrayContaining([
        { path: 'spec.kernelArgs', message: 'unknown field "kernelArgs"' },
        { path: 'spec.extensions', message: 'must be array' },
        { path: 'spec.osImageURL', message: 'must be string' },
      ]),
    );
  });

  it('accepts a valid MachineConfigPool; int-or-string maxUnavailable; required osImageStream.name', () => {
    const pool = machineConfigPool();
    expect(validateK8sObject(pool)).toEqual([]);
    pool.spec.maxUnavailable = '10%';
    expect(validateK8sObject(pool)).toEqual([]);
    pool.spec.maxUnavailable = 1.5;
    pool.spec.osImageStream = {};
    expect(validateK8sObject(pool)).toEqual(
      expect.arrayContaining([
        { path: 'spec.maxUnavailable', message: 'must be integer or string' },
        { path: 'spec.osImageStream.name', message: 'required field is missing' },
      ]),
    );
  });

  it('validates MachineOSConfig: required fields, enums, list-map keys with defaults', () => {
    expect(validateK8sObject(machineOSConfig())).toEqual([]);
    const mosc = machineOSConfig();
    delete mosc.spec.renderedImagePushSecret;
    mosc.spec.imageBuilder.imageBuilderType = 'Pod';
    expect(validateK8sObject(mosc)).toEqual(
      expect.arrayContaining([
        { path: 'spec.renderedImagePushSecret', message: 'required field is missing' },
        { path: 'spec.imageBuilder.imageBuilderType', message: 'must be one of "Job"' },
      ]),
    );
    // Two containerfiles without an arch both default to NoArch: duplicate map key.
    const twice = machineOSConfig();
    twice.spec.containerFile.push({ content: 'RUN false' });
    expect(issueAt(twice, 'spec.containerFile[1]')?.message).toMatch(/duplicate entry .*NoArch/);
  });

  it('validates MachineOSBuild', () => {
    expect(validateK8sObject(machineOSBuild())).toEqual([]);
    const short = machineOSBuild();
    short.spec.machineConfig.name = 'rendered';
    expect(issueAt(short, 'spec.machineConfig.name')?.message).toMatch(/fewer than 10 characters/);
  });

  it('validates SecurityContextConstraints (top-level fields, many required but nullable)', () => {
    expect(validateK8sObject(scc())).toEqual([]);
    const bad = scc();
    delete bad.priority;
    bad.allowHostPID = 'no';
    bad.allowHostDevices = true;
    expect(validateK8sObject(bad)).toEqual(
      expect.arrayContaining([
        { path: 'priority', message: 'required field is missing' },
        { path: 'allowHostPID', message: 'must be boolean' },
        { path: 'allowHostDevices', message: 'unknown field "allowHostDevices"' },
      ]),
    );
  });
});

describe('OLM CRDs', () => {
  it('accepts a valid Subscription and OperatorGroup (v1 and v1alpha2)', () => {
    expect(validateK8sObject(subscription())).toEqual([]);
    expect(validateK8sObject(operatorGroup())).toEqual([]);
    expect(validateK8sObject(operatorGroup('operators.coreos.com/v1alpha2'))).toEqual([]);
  });

  it('picks the schema of the apiVersion: upgradeStrategy exists in OperatorGroup v1 only', () => {
    const v1 = operatorGroup();
    v1.spec.upgradeStrategy = 'Default';
    expect(validateK8sObject(v1)).toEqual([]);
    const v1alpha2 = operatorGroup('operators.coreos.com/v1alpha2');
    v1alpha2.spec.upgradeStrategy = 'Default';
    expect(validateK8sObject(v1alpha2)).toEqual([{ path: 'spec.upgradeStrategy', message: 'unknown field "upgradeStrategy"' }]);
  });

  it('rejects a Subscription with a missing source, an unknown field and a wrong type', () => {
    const sub = subscription();
    delete sub.spec.source;
    sub.spec.package = 'kernel-module-management';
    sub.spec.channel = 1;
    expect(validateK8sObject(sub)).toEqual(
      expect.arrayContaining([
        { path: 'spec.source', message: 'required field is missing' },
        { path: 'spec.package', message: 'unknown field "package"' },
        { path: 'spec.channel', message: 'must be string' },
      ]),
    );
  });

  it('rejects an OperatorGroup with duplicate set entries, a bad enum and an unknown field', () => {
    const og = operatorGroup();
    og.spec.targetNamespaces = ['openshift-kmm', 'openshift-kmm'];
    og.spec.upgradeStrategy = 'Always';
    og.spec.targetNamespace = 'x';
    expect(paths(og).sort()).toEqual(['spec.targetNamespace', 'spec.targetNamespaces[1]', 'spec.upgradeStrategy']);
  });
});

describe('OpenAPI v2 subsets: core/v1, rbac/v1, build/image.openshift.io', () => {
  it('accepts valid core objects', () => {
    const objects: Obj[] = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kmodlab', labels: { 'openshift.io/cluster-monitoring': 'true' } } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('simple-kmod', 'kmodlab'), imagePullSecrets: [{ name: 'pull' }] },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('simple-kmod.dockerfile', 'kmodlab'), data: { dockerfile: 'FROM x' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: meta('key', 'kmodlab'), type: 'Opaque', data: { key: 'aGVsbG8=' }, stringData: { c: 'PEM' } },
    ];
    for (const obj of objects) expect(validateK8sObject(obj)).toEqual([]);
    expect(validateK8sObject(pod())).toEqual([]);
  });

  it('rejects unknown fields, wrong types and missing required fields in a Pod', () => {
    const p = pod();
    p.spec.containers[0].foo = 'bar';
    p.spec.containers[0].securityContext.privileged = 'true';
    delete p.spec.volumes[0].hostPath.path;
    expect(validateK8sObject(p)).toEqual(
      expect.arrayContaining([
        { path: 'spec.containers[0].foo', message: 'unknown field "foo"' },
        { path: 'spec.containers[0].securityContext.privileged', message: 'must be boolean' },
        { path: 'spec.volumes[0].hostPath.path', message: 'required field is missing' },
      ]),
    );
    expect(issueAt({ ...p, spec: {} }, 'spec.containers')?.message).toBe('required field is missing');
  });

  it('checks formats: int32 ranges, base64 bytes, quantities', () => {
    const p = pod();
    p.spec.containers[0].ports[0].containerPort = 2 ** 31;
    p.spec.containers[0].resources.limits.memory = '1 GB';
    expect(validateK8sObject(p)).toEqual([
      { path: 'spec.containers[0].ports[0].containerPort', message: 'must match format "int32"' },
      { path: 'spec.containers[0].resources.limits.memory', message: expect.stringMatching(/^must match pattern/) },
    ]);
    p.spec.containers[0].resources.limits.memory = ['1Gi'];
    expect(issueAt(p, 'spec.containers[0].resources.limits.memory')?.message).toBe('must be number or string');
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), data: { key: 'not base64!' } };
    expect(issueAt(secret, 'data.key')?.message).toBe('must match format "byte"');
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('c'), data: { replicas: 3 } };
    expect(issueAt(cm, 'data.replicas')?.message).toBe('must be string');
  });

  it('validates RBAC objects (names may contain ":")', () => {
    const rule = { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] };
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kmodlab:loader' };
    const subjects = [{ kind: 'ServiceAccount', name: 'simple-kmod', namespace: 'kmodlab' }];
    const rbac = 'rbac.authorization.k8s.io/v1';
    expect(validateK8sObject({ apiVersion: rbac, kind: 'ClusterRole', metadata: meta('kmodlab:loader'), rules: [rule] })).toEqual([]);
    expect(validateK8sObject({ apiVersion: rbac, kind: 'Role', metadata: meta('loader', 'kmodlab'), rules: [rule] })).toEqual([]);
    expect(validateK8sObject({ apiVersion: rbac, kind: 'ClusterRoleBinding', metadata: meta('kmodlab:loader'), roleRef, subjects })).toEqual([]);
    expect(validateK8sObject({ apiVersion: rbac, kind: 'RoleBinding', metadata: meta('loader', 'kmodlab'), roleRef, subjects })).toEqual([]);

    expect(paths({ apiVersion: rbac, kind: 'Role', metadata: meta('r', 'ns'), rules: [{ resources: ['pods'], verb: ['get'] }] }).sort()).toEqual([
      'rules[0].verb',
      'rules[0].verbs',
    ]);
    expect(paths({ apiVersion: rbac, kind: 'RoleBinding', metadata: meta('rb', 'ns'), subjects })).toEqual(['roleRef']);
    expect(paths({ apiVersion: rbac, kind: 'ClusterRole', metadata: meta('a/b'), rules: 'all' })).toEqual(['rules', 'metadata.name']);
  });

  it('validates BuildConfig and ImageStream', () => {
    expect(validateK8sObject(buildConfig())).toEqual([]);
    expect(validateK8sObject(imageStream())).toEqual([]);

    const bc = buildConfig();
    delete bc.spec.strategy;
    bc.spec.source.dockerfilePath = 'Containerfile'; // belongs in dockerStrategy
    bc.spec.runPolicy = 1;
    expect(paths(bc).sort()).toEqual(['spec.runPolicy', 'spec.source.dockerfilePath', 'spec.strategy']);

    const is = imageStream();
    is.spec.lookupPolicy = {};
    is.spec.tags = [{ name: 'latest', from: { kind: 'DockerImage', name: 'quay.io/x:1' }, importMode: 'Legacy' }];
    expect(paths(is).sort()).toEqual(['spec.lookupPolicy.local', 'spec.tags[0].importMode']);
  });
});

describe('apps/v1 via kubernetes-models, made strict', () => {
  it('accepts valid DaemonSet, Deployment (int-or-string maxUnavailable, numeric quantities)', () => {
    expect(validateK8sObject(daemonSet())).toEqual([]);
    expect(validateK8sObject(deployment())).toEqual([]);
    const ds = daemonSet();
    ds.spec.updateStrategy.rollingUpdate.maxUnavailable = 1;
    expect(validateK8sObject(ds)).toEqual([]);
  });

  it('rejects an unknown field inside spec.template.spec.containers[0] (kubernetes-models alone does not)', () => {
    const ds = daemonSet();
    ds.spec.template.spec.containers[0].foo = 'bar';
    expect(validateK8sObject(ds)).toEqual([{ path: 'spec.template.spec.containers[0].foo', message: 'unknown field "foo"' }]);
  });

  it('rejects unknown fields at every level, but not keys of maps', () => {
    const ds = daemonSet();
    ds.spec.template.metadata.label = { a: 'b' };
    ds.spec.template.spec.volumes = [{ name: 'm', hostPath: { path: '/lib/modules', kind: 'Directory' } }];
    ds.spec.updateStrategy.rollingUpdate.maxUnavaliable = 1;
    ds.spec.template.spec.nodeSelector['any/key'] = 'is fine';
    expect(paths(ds).sort()).toEqual([
      'spec.template.metadata.label',
      'spec.template.spec.volumes[0].hostPath.kind',
      'spec.updateStrategy.rollingUpdate.maxUnavaliable',
    ]);
  });

  it('rejects wrong types and missing required fields', () => {
    const ds = daemonSet();
    ds.spec.template.spec.containers[0].name = 7;
    ds.spec.updateStrategy.rollingUpdate.maxUnavailable = true;
    delete ds.spec.template.spec.containers[0].image; // optional in the API (filled by defaults elsewhere)
    expect(validateK8sObject(ds)).toEqual([
      { path: 'spec.template.spec.containers[0].name', message: 'must be string' },
      { path: 'spec.updateStrategy.rollingUpdate.maxUnavailable', message: expect.stringMatching(/must be (string or integer|integer or string)/) },
    ]);
    const dep = deployment();
    delete dep.spec.selector;
    dep.spec.replicas = 'two';
    expect(paths(dep).sort()).toEqual(['spec.replicas', 'spec.selector']);
  });

  it('rejects a selector that does not select the pod template', () => {
    const ds = daemonSet();
    ds.spec.template.metadata.labels = { app: 'other' };
    expect(issueAt(ds, 'spec.template.metadata.labels')?.message).toMatch(/selector.*does not match/);
    const expr = daemonSet();
    expr.spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['simple-kmod'] }] };
    expect(validateK8sObject(expr)).toEqual([]);
    expr.spec.selector = {};
    expect(paths(expr)).toEqual(['spec.selector']);
  });

  it('validates the serialised form: class instances are plain data, undefined keys vanish', () => {
    const ds = new DaemonSet(daemonSet() as ConstructorParameters<typeof DaemonSet>[0]);
    expect(validateK8sObject(ds)).toEqual([]);
    const withUndefined = daemonSet();
    withUndefined.spec.template.spec.containers[0].workDir = undefined; // never reaches the YAML
    expect(validateK8sObject(withUndefined)).toEqual([]);
  });

  it('falls back to kubernetes-models for other built-in kinds (batch/v1 Job)', () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('build', 'kmodlab'),
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'b', image: 'x', bogus: 1 }] } } },
    };
    expect(paths(job)).toEqual(['spec.template.spec.containers[0].bogus']);
  });
});

describe('metadata (ObjectMeta + apiserver syntax rules)', () => {
  it('requires metadata and a name', () => {
    const { metadata: _, ...noMeta } = imageStream();
    expect(validateK8sObject(noMeta)).toEqual([{ path: 'metadata', message: 'required field is missing' }]);
    expect(validateK8sObject({ ...machineConfig(), metadata: { labels: {} } })).toEqual([
      { path: 'metadata.name', message: 'required field is missing' },
    ]);
  });

  it('checks the name syntax per kind', () => {
    expect(paths({ ...machineConfig(), metadata: { name: '99_Worker' } })).toEqual(['metadata.name']);
    expect(paths({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kmod.lab' } })).toEqual(['metadata.name']); // label, not subdomain
    expect(validateK8sObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kmod.lab' } })).toEqual([]);
    expect(paths({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x'.repeat(254) } })).toEqual(['metadata.name']);
    expect(paths({ ...subscription(), metadata: { name: 'sub', namespace: 'Bad_NS' } })).toEqual(['metadata.namespace']);
  });

  it('checks label keys and values, and annotation keys', () => {
    const mc = machineConfig();
    mc.metadata.labels = {
      'app.kubernetes.io/name': 'x'.repeat(64), // value too long
      'Bad Key': 'ok',
      'example.com/ok': 'has space',
      'example.com/': 'empty-name',
      empty: '',
    };
    mc.metadata.annotations = { 'kmodlab.io/note': 'free text is fine here', 'a/b/c': 'x', count: 3 };
    expect(validateK8sObject(mc)).toEqual(
      expect.arrayContaining([
        { path: 'metadata.labels["app.kubernetes.io/name"]', message: 'must be no more than 63 characters' },
        { path: 'metadata.labels["Bad Key"]', message: expect.stringMatching(/name part must consist of alphanumeric/) },
        { path: 'metadata.labels["example.com/ok"]', message: expect.stringMatching(/a valid label must be an empty string/) },
        { path: 'metadata.labels["example.com/"]', message: expect.stringMatching(/name part must be non-empty/) },
        { path: 'metadata.annotations["a/b/c"]', message: expect.stringMatching(/at most one '\/'/) },
        { path: 'metadata.annotations.count', message: 'must be string' },
      ]),
    );
    expect(paths(mc)).not.toContain('metadata.labels.empty');
    expect(paths(mc)).not.toContain('metadata.annotations["kmodlab.io/note"]');
  });

  it('rejects unknown metadata fields and wrong metadata types', () => {
    expect(validateK8sObject({ ...kmmModule(), metadata: { name: 'm', namespace: 'ns', label: { a: 'b' }, finalizers: 'x' } })).toEqual([
      { path: 'metadata.label', message: 'unknown field "label"' },
      { path: 'metadata.finalizers', message: 'must be array' },
    ]);
  });

  it('applies label rules to pod template metadata too', () => {
    const ds = daemonSet();
    ds.spec.template.metadata.labels = { ...ds.spec.template.metadata.labels, 'bad/key/': 'v' };
    expect(paths(ds)).toEqual(['spec.template.metadata.labels["bad/key/"]']);
  });
});

describe('assertValidK8sObject', () => {
  it('passes for a valid object', () => {
    expect(() => assertValidK8sObject(kmmModule())).not.toThrow();
  });

  it('throws an error naming the kind, the object and every issue', () => {
    const ds = daemonSet();
    ds.spec.template.spec.containers[0].foo = 'bar';
    ds.spec.template.spec.hostPid = true;
    let message = '';
    try {
      assertValidK8sObject(ds);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('DaemonSet "kmodlab/simple-kmod" (apps/v1)');
    expect(message).toContain('spec.template.spec.containers[0].foo: unknown field "foo"');
    expect(message).toContain('spec.template.spec.hostPid: unknown field "hostPid"');
  });
});

describe('schema location', () => {
  const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const realSchemas = path.resolve(projectRoot, '..', 'shared', 'schemas');

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('honours KMODLAB_SHARED_SCHEMAS', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kmodlab-schemas-'));
    await mkdir(path.join(dir, 'olm'));
    await copyFile(path.join(realSchemas, 'olm', 'operators.coreos.com_subscriptions.yaml'), path.join(dir, 'olm', 'subs.yaml'));
    await copyFile(path.join(realSchemas, 'kubernetes-openapi-subset.json'), path.join(dir, 'k8s.json'));
    vi.stubEnv('KMODLAB_SHARED_SCHEMAS', dir);
    vi.resetModules();
    const fresh = await import('./support/upstream-schemas.js');
    expect(fresh.hasSchemaFor('operators.coreos.com/v1alpha1', 'Subscription')).toBe(true);
    expect(fresh.hasSchemaFor('kmm.sigs.x-k8s.io/v1beta1', 'Module')).toBe(false);
    expect(fresh.validateK8sObject(subscription())).toEqual([]);
  });

  it('explains where it looked when the directory is missing', async () => {
    vi.stubEnv('KMODLAB_SHARED_SCHEMAS', '/nonexistent/kmodlab-schemas');
    vi.resetModules();
    const fresh = await import('./support/upstream-schemas.js');
    expect(() => fresh.hasSchemaFor('v1', 'Pod')).toThrow(/not found: \/nonexistent\/kmodlab-schemas.*KMODLAB_SHARED_SCHEMAS/);
  });
});
