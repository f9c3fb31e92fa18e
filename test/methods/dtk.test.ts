/**
 * The dtk method: Driver Toolkit driver containers (BuildConfig FROM the driver-toolkit,
 * privileged DaemonSet with modprobe in postStart / modprobe -r in preStop).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, ArtifactSetSchema, artifactText, findFile, type ArtifactSet, type K8sObject } from '../../src/artifacts/artifact-set.js';
import { loadDriver, parseDriverSpec } from '../../src/driver/load.js';
import { canonicalModuleName, type DriverSpec } from '../../src/driver/spec.js';
import { UserError } from '../../src/errors.js';
import { ANNOTATION_INSTALL_PHASE, standardLabels } from '../../src/labels.js';
import { dtkMethod } from '../../src/methods/dtk/index.js';
import { FEATURE_KEYS, RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { PLACEHOLDERS } from '../../src/release/placeholders.js';
import { ReleaseSchema, type Release, type ReleaseInput } from '../../src/release/release.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';

const KVER = '5.14.0-284.52.1.el9_2.x86_64';
const DTK_IMAGE = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'3'.repeat(64)}`;
const RELEASE: Release = ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, driverToolkitImage: DTK_IMAGE, sources: {} } satisfies ReleaseInput);
const UNKNOWN_RELEASE: Release = ReleaseSchema.parse({ version: '4.14.12', sources: {} });

let reference: DriverSpec;
const gitDriver = parseDriverSpec(
  {
    name: 'acme-nic',
    version: '2.3.1',
    source: { git: { url: 'https://github.com/acme/acme-nic.git', ref: 'v2.3.1' } },
    modules: ['acme-core', 'acme-nic'],
  },
  'test git driver',
);

beforeAll(async () => {
  reference = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
});

function render(driver: DriverSpec, options: RenderOptionsInput = {}, release: Release = RELEASE): ArtifactSet {
  return ArtifactSetSchema.parse(dtkMethod.render(driver, release, RenderOptionsSchema.parse(options)));
}

function only(set: ArtifactSet, kind: string, name?: string): K8sObject {
  const objs = allObjects(set).filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  expect(objs, `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return objs[0]!;
}

// Loose accessors for the rendered (plain JSON) objects.
const spec = (o: K8sObject): any => (o as any).spec;
const podSpec = (ds: K8sObject): any => spec(ds).template.spec;
const container = (ds: K8sObject): any => podSpec(ds).containers[0];

function allText(set: ArtifactSet): string {
  return set.files.map((f) => artifactText(f)).join('\n');
}

function expectEveryObjectValidAndLabelled(set: ArtifactSet, driver: DriverSpec): void {
  const objs = allObjects(set);
  expect(objs.length).toBeGreaterThan(0);
  for (const o of objs) {
    assertValidK8sObject(o);
    const component = o.metadata.labels?.['app.kubernetes.io/component'];
    expect(component, `${o.kind} ${o.metadata.name} has a component label`).toBeTruthy();
    expect(o.metadata.labels).toMatchObject(standardLabels(driver.name, 'dtk', component, driver.version));
  }
}

describe('dtk method: definition', () => {
  it('has variants pinned (default) and tracking', () => {
    expect(dtkMethod.id).toBe('dtk');
    expect(dtkMethod.variants).toEqual(['pinned', 'tracking']);
    expect(render(reference).variant).toBe('pinned');
  });

  it('states one sourced fact per feature key', () => {
    expect(dtkMethod.features.map((f) => f.key).sort()).toEqual(Object.keys(FEATURE_KEYS).sort());
    for (const f of dtkMethod.features) {
      expect(f.value.length).toBeGreaterThan(0);
      expect(f.source).toMatch(/^https:\/\/(docs\.openshift\.com|github\.com\/openshift|kubernetes\.io)\//);
    }
  });

  it('refuses an unknown variant, naming the allowed ones', () => {
    expect(() => render(reference, { variant: 'nightly' })).toThrow(UserError);
    expect(() => render(reference, { variant: 'nightly' })).toThrow(/pinned, tracking/);
  });
});

describe('dtk pinned, Day 2, reference driver (source.path)', () => {
  let set: ArtifactSet;
  beforeAll(() => {
    set = render(reference);
  });

  it('writes the numbered manifests, the Containerfile and the README', () => {
    expect(set.files.map((f) => [f.path, f.phase])).toEqual([
      ['00-namespace.yaml', 'day2'],
      ['01-imagestream.yaml', 'day2'],
      ['02-buildconfig.yaml', 'day2'],
      ['03-serviceaccount.yaml', 'day2'],
      ['04-role.yaml', 'day2'],
      ['05-rolebinding.yaml', 'day2'],
      ['06-daemonset.yaml', 'day2'],
      ['Containerfile', 'build'],
      ['README.md', 'doc'],
    ]);
    expect(set.day1).toBe(false);
    expect(set.placeholders).toEqual([]);
    expect(allText(set)).not.toMatch(/FILL_ME/);
  });

  it('renders only schema-valid objects, each with the standard labels, in one namespace', () => {
    expectEveryObjectValidAndLabelled(set, reference);
    const ns = only(set, 'Namespace');
    expect(ns.metadata.name).toBe('kmodlab-simple-kmod-dtk');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    for (const o of allObjects(set).filter((o) => o.kind !== 'Namespace')) expect(o.metadata.namespace).toBe('kmodlab-simple-kmod-dtk');
    for (const o of allObjects(set)) expect(o.metadata.annotations?.[ANNOTATION_INSTALL_PHASE]).toBeUndefined();
  });

  it('loads the modules in load order in postStart and unloads them in reverse in preStop', () => {
    const c = container(only(set, 'DaemonSet'));
    const order = reference.modules.map((m) => canonicalModuleName(m.name));
    expect(order).toEqual(['simple_kmod', 'simple_procfs_kmod']);
    expect(c.lifecycle.postStart.exec.command).toEqual(['modprobe', '-v', '-a', ...order]);
    expect(c.lifecycle.preStop.exec.command).toEqual(['modprobe', '-v', '-r', '-a', ...[...order].reverse()]);
    expect(c.command).toEqual(['sleep', 'infinity']);
    expect(c.securityContext).toEqual({ privileged: true });
  });

  it('runs the privileged pod with a ServiceAccount allowed the privileged SCC', () => {
    const ds = only(set, 'DaemonSet');
    const sa = only(set, 'ServiceAccount');
    const role = only(set, 'Role') as any;
    const rb = only(set, 'RoleBinding') as any;
    expect(podSpec(ds).serviceAccountName).toBe(sa.metadata.name);
    expect(role.rules).toEqual([{ apiGroups: ['security.openshift.io'], resources: ['securitycontextconstraints'], resourceNames: ['privileged'], verbs: ['use'] }]);
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'kmodlab-simple-kmod-dtk' }]);
  });

  it('builds for the release kernel with the release DTK, as build args of a binary build', () => {
    const bc = only(set, 'BuildConfig');
    const s = spec(bc);
    expect(s.strategy.dockerStrategy.buildArgs).toEqual([
      { name: 'DTK', value: DTK_IMAGE },
      { name: 'KVER', value: KVER },
    ]);
    expect(s.strategy.dockerStrategy.from).toBeUndefined();
    expect(s.source.type).toBe('Binary');
    expect(s.source.binary).toEqual({});
    expect(s.source.dockerfile).toBe(findFile(set, 'Containerfile')!.content);
    // Binary builds cannot be triggered automatically.
    expect(s.triggers).toEqual([]);
    expect(s.output).toEqual({ to: { kind: 'ImageStreamTag', name: `simple-kmod-driver-container:${KVER}` } });
    expect(only(set, 'ImageStream').metadata.name).toBe('simple-kmod-driver-container');
  });

  it('has a Containerfile: builder FROM ${DTK} with the driver context, final UBI stage with kmod and depmod of KVER', () => {
    const cf = findFile(set, 'Containerfile')!.content!;
    const lines = cf.split('\n');
    expect(lines).toContain(`ARG DTK=${DTK_IMAGE}`);
    expect(lines).toContain(`ARG KVER=${KVER}`);
    expect(lines).toContain('FROM ${DTK} AS builder');
    expect(lines).toContain('COPY . /build/src/');
    expect(lines).toContain('RUN make KVER=${KVER} \\');
    expect(lines).toContain('FROM registry.access.redhat.com/ubi9/ubi-minimal');
    expect(lines).toContain('RUN microdnf install -y kmod && microdnf clean all \\');
    expect(lines).toContain('COPY --from=builder /build/out/lib/modules/ /lib/modules/');
    expect(lines).toContain('COPY --from=builder /build/out/etc/modprobe.d/ /etc/modprobe.d/');
    expect(lines.at(-2)).toBe(' && for k in ${KVER}; do ln -sfn /host/usr/lib/modules/$k/kernel /lib/modules/$k/kernel; done');
    // Each RUN is a container start for the builder: build + layout, index; kmod + links.
    expect(cf.match(/^RUN /gm)).toHaveLength(3);
    // Both stages declare KVER (an ARG before FROM is not visible inside a stage otherwise).
    expect(lines.filter((l) => l === 'ARG KVER')).toHaveLength(2);
    expect(cf).toMatch(/options simple_kmod greeting=kmodlab/);
  });

  it('pulls the image built for the release kernel and follows its ImageStream tag', () => {
    const ds = only(set, 'DaemonSet');
    const c = container(ds);
    expect(c.image).toBe(`image-registry.openshift-image-registry.svc:5000/kmodlab-simple-kmod-dtk/simple-kmod-driver-container:${KVER}`);
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    const triggers = JSON.parse(ds.metadata.annotations!['image.openshift.io/triggers']!);
    expect(triggers).toEqual([
      { from: { kind: 'ImageStreamTag', name: `simple-kmod-driver-container:${KVER}` }, fieldPath: `spec.template.spec.containers[?(@.name=="${c.name}")].image` },
    ]);
  });

  it('runs on the worker pool, and keeps off nodes NFD reports with another kernel', () => {
    const ps = podSpec(only(set, 'DaemonSet'));
    expect(ps.nodeSelector).toEqual({ 'node-role.kubernetes.io/worker': '' });
    expect(ps.tolerations).toBeUndefined();
    const terms = ps.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(terms).toEqual([
      { matchExpressions: [{ key: 'feature.node.kubernetes.io/kernel-version.full', operator: 'In', values: [KVER] }] },
      { matchExpressions: [{ key: 'feature.node.kubernetes.io/kernel-version.full', operator: 'DoesNotExist' }] },
    ]);
  });

  it('selects its pods by labels that do not change with the driver version', () => {
    const ds = only(set, 'DaemonSet');
    const selector = spec(ds).selector.matchLabels;
    expect(Object.values(selector)).not.toContain(reference.version);
    expect(spec(ds).template.metadata.labels).toMatchObject(selector);
  });

  it('README says how to build, apply, verify, update, upgrade and remove', () => {
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain('oc apply -f .');
    expect(readme).toContain('oc start-build simple-kmod-driver-build -n kmodlab-simple-kmod-dtk --from-dir="$DRIVER_SRC" --follow');
    expect(readme).toContain(`oc debug node/"$NODE" -- chroot /host lsmod | grep -E '^(simple_kmod|simple_procfs_kmod) '`);
    expect(readme).toContain('oc get pods -n kmodlab-simple-kmod-dtk');
    expect(readme).toContain('managementState');
    expect(readme).toContain('## Update');
    expect(readme).toContain('## Cluster upgrades');
    expect(readme).toMatch(/CrashLoopBackOff/);
    expect(readme).toContain('oc delete -f .');
    expect(readme).toMatch(/best effort/);
    for (const f of set.files.filter((f) => f.path !== 'README.md')) expect(readme).toContain(`\`${f.path}\``);
  });
});

describe('dtk pinned: release facts and placeholders', () => {
  it('uses named placeholders for an unknown kernel and DTK, and lists them', () => {
    const set = render(reference, {}, UNKNOWN_RELEASE);
    const tokens = set.placeholders.map((p) => p.token).sort();
    expect(tokens).toEqual([PLACEHOLDERS.driverToolkitImage.token, PLACEHOLDERS.kernelVersion.token].sort());
    const bc = only(set, 'BuildConfig');
    expect(spec(bc).strategy.dockerStrategy.buildArgs).toEqual([
      { name: 'DTK', value: PLACEHOLDERS.driverToolkitImage.token },
      { name: 'KVER', value: PLACEHOLDERS.kernelVersion.token },
    ]);
    const readme = findFile(set, 'README.md')!.content!;
    for (const p of set.placeholders) expect(readme).toContain(p.token);
    expectEveryObjectValidAndLabelled(set, reference);
  });

  it('has no placeholder once the facts are known', () => {
    const set = render(reference);
    expect(set.placeholders).toEqual([]);
    expect(allText(set)).not.toContain('FILL_ME');
  });

  it('tags a kernel with characters tags do not allow, and renders no kernel affinity NFD could not match', () => {
    const lab = ReleaseSchema.parse({ kernelVersion: '6.12.57+deb12-amd64', driverToolkitImage: DTK_IMAGE, sources: {} });
    const set = render(reference, {}, lab);
    expectEveryObjectValidAndLabelled(set, reference);
    expect(spec(only(set, 'BuildConfig')).output.to.name).toBe('simple-kmod-driver-container:6.12.57_deb12-amd64');
    expect(spec(only(set, 'BuildConfig')).strategy.dockerStrategy.buildArgs[1]).toEqual({ name: 'KVER', value: '6.12.57+deb12-amd64' });
    expect(podSpec(only(set, 'DaemonSet')).affinity).toBeUndefined();
  });
});

describe('dtk pinned, git driver', () => {
  it('clones the pinned ref inside the build and builds once on creation', () => {
    const set = render(gitDriver);
    expectEveryObjectValidAndLabelled(set, gitDriver);
    const s = spec(only(set, 'BuildConfig'));
    expect(s.source).toEqual({ type: 'Dockerfile', dockerfile: findFile(set, 'Containerfile')!.content });
    expect(s.triggers).toEqual([{ type: 'ConfigChange' }]);
    const cf = findFile(set, 'Containerfile')!.content!;
    expect(cf).toContain('git clone -q --depth 1 --branch v2.3.1 https://github.com/acme/acme-nic.git /build/src');
    expect(cf).not.toContain('COPY . ');
    expect(cf).toContain('RUN make -C /lib/modules/${KVER}/build M=${PWD} modules');
    expect(container(only(set, 'DaemonSet')).lifecycle.postStart.exec.command).toEqual(['modprobe', '-v', '-a', 'acme_core', 'acme_nic']);
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).not.toContain('--from-dir');
    expect(readme).toContain('oc start-build acme-nic-driver-build -n kmodlab-acme-nic-dtk --follow');
  });
});

describe('dtk options', () => {
  it('runs on the control plane for --pool master (single-node OpenShift)', () => {
    const set = render(reference, { pool: 'master' });
    const ps = podSpec(only(set, 'DaemonSet'));
    expect(ps.nodeSelector).toEqual({ 'node-role.kubernetes.io/master': '' });
    expect(ps.tolerations).toEqual(
      expect.arrayContaining([{ key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' }]),
    );
    expectEveryObjectValidAndLabelled(set, reference);
  });

  it('puts every namespaced object in --namespace', () => {
    const set = render(reference, { namespace: 'drivers' });
    expect(only(set, 'Namespace').metadata.name).toBe('drivers');
    for (const o of allObjects(set).filter((o) => o.kind !== 'Namespace')) expect(o.metadata.namespace).toBe('drivers');
    expect(container(only(set, 'DaemonSet')).image).toContain('/drivers/simple-kmod-driver-container:');
    expect((only(set, 'RoleBinding') as any).subjects[0].namespace).toBe('drivers');
  });

  it('pushes to --registry with a push secret, imports the tag and pulls with the same secret', () => {
    const set = render(reference, { registry: 'quay.io/acme' });
    expectEveryObjectValidAndLabelled(set, reference);
    const image = `quay.io/acme/simple-kmod-driver-container:${KVER}`;
    expect(spec(only(set, 'BuildConfig')).output).toEqual({ to: { kind: 'DockerImage', name: image }, pushSecret: { name: 'simple-kmod-registry' } });
    expect(spec(only(set, 'ImageStream')).tags).toEqual([
      { name: KVER, from: { kind: 'DockerImage', name: image }, importPolicy: { scheduled: true }, referencePolicy: { type: 'Source' } },
    ]);
    const ps = podSpec(only(set, 'DaemonSet'));
    expect(ps.imagePullSecrets).toEqual([{ name: 'simple-kmod-registry' }]);
    expect(ps.containers[0].image).toBe(image);
    expect(findFile(set, 'README.md')!.content).toContain('oc create secret docker-registry simple-kmod-registry');
  });

  it('refuses --registry with the tracking variant', () => {
    expect(() => render(reference, { variant: 'tracking', registry: 'quay.io/acme' })).toThrow(UserError);
  });
});

describe('dtk tracking', () => {
  let set: ArtifactSet;
  beforeAll(() => {
    set = render(reference, { variant: 'tracking' });
  });

  it('needs no release facts', () => {
    const unknown = render(reference, { variant: 'tracking' }, UNKNOWN_RELEASE);
    expect(unknown.placeholders).toEqual([]);
    expect(allText(unknown)).not.toContain('FILL_ME');
    expect(allText(set)).not.toContain(KVER);
  });

  it('renders schema-valid labelled objects, with a source image build for a path driver', () => {
    expect(set.variant).toBe('tracking');
    expectEveryObjectValidAndLabelled(set, reference);
    expect(set.files.map((f) => f.path)).toEqual([
      '00-namespace.yaml',
      '01-imagestream.yaml',
      '02-buildconfig.yaml',
      '03-serviceaccount.yaml',
      '04-role.yaml',
      '05-rolebinding.yaml',
      '06-daemonset.yaml',
      'Containerfile',
      'Containerfile.source',
      'README.md',
    ]);
    const source = spec(only(set, 'BuildConfig', 'simple-kmod-driver-source-build'));
    expect(source.source.type).toBe('Binary');
    expect(source.source.dockerfile).toBe(findFile(set, 'Containerfile.source')!.content);
    expect(source.output.to).toEqual({ kind: 'ImageStreamTag', name: 'simple-kmod-driver-source:latest' });
    only(set, 'ImageStream', 'simple-kmod-driver-source');
  });

  it('rebuilds when openshift/driver-toolkit:latest or the source image moves, into <image>:latest', () => {
    const s = spec(only(set, 'BuildConfig', 'simple-kmod-driver-build'));
    expect(s.triggers).toEqual([
      { type: 'ImageChange', imageChange: { from: { kind: 'ImageStreamTag', namespace: 'openshift', name: 'driver-toolkit:latest' } } },
      { type: 'ImageChange', imageChange: { from: { kind: 'ImageStreamTag', name: 'simple-kmod-driver-source:latest' } } },
    ]);
    // dockerStrategy.from would replace the LAST FROM (the final stage), not the builder.
    expect(s.strategy.dockerStrategy.from).toBeUndefined();
    expect(s.strategy.dockerStrategy.buildArgs).toBeUndefined();
    expect(s.output).toEqual({ to: { kind: 'ImageStreamTag', name: 'simple-kmod-driver-container:latest' } });
    expect(s.source).toEqual({ type: 'Dockerfile', dockerfile: findFile(set, 'Containerfile')!.content });
  });

  it('builds FROM the cluster DTK and reads its kernel from /etc/driver-toolkit-release.json', () => {
    const cf = findFile(set, 'Containerfile')!.content!;
    const lines = cf.split('\n');
    expect(lines).toContain('ARG DTK=image-registry.openshift-image-registry.svc:5000/openshift/driver-toolkit:latest');
    expect(lines).toContain('FROM ${DTK} AS builder');
    expect(lines).toContain('COPY --from=image-registry.openshift-image-registry.svc:5000/kmodlab-simple-kmod-dtk/simple-kmod-driver-source:latest /src/ /build/src/');
    expect(cf).not.toMatch(/^ARG KVER/m);
    // Every builder RUN line that uses KVER first sets it from the file (the build and the index).
    const builder = cf.slice(cf.indexOf('FROM ${DTK} AS builder'), cf.lastIndexOf('\nFROM '));
    const runs = builder.split(/\n(?=[A-Z]+ )/).filter((l) => l.startsWith('RUN ') && /\$\{?KVER\b/.test(l));
    expect(runs).toHaveLength(2);
    for (const r of runs) expect(r.startsWith('RUN KVER="$(cat /etc/kmodlab-kver)" && ')).toBe(true);
    expect(runs[0]!.startsWith('RUN KVER="$(cat /etc/kmodlab-kver)" && export KVER && ')).toBe(true);
    expect(lines.at(-2)).toBe(' && for k in $(ls /lib/modules); do ln -sfn /host/usr/lib/modules/$k/kernel /lib/modules/$k/kernel; done');
  });

  it('extracts KERNEL_VERSION (not RT_KERNEL_VERSION) from a driver-toolkit release file', () => {
    const cf = findFile(set, 'Containerfile')!.content!;
    const run = /^RUN (sed -n .*? \/etc\/driver-toolkit-release\.json) > \/etc\/kmodlab-kver/m.exec(cf)?.[1];
    expect(run).toBeDefined();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-dtk-'));
    const file = path.join(dir, 'driver-toolkit-release.json');
    // The format the driver-toolkit Dockerfile writes.
    writeFileSync(file, `{ "KERNEL_VERSION": "${KVER}", "RT_KERNEL_VERSION": "5.14.0-284.52.1.rt14.337.el9_2.x86_64+rt", "RHEL_VERSION": "9.2" }\n`);
    const out = execFileSync('/bin/sh', ['-c', run!.replace('/etc/driver-toolkit-release.json', file)], { encoding: 'utf8' });
    expect(out.trim()).toBe(KVER);
  });

  it('rolls the DaemonSet onto the rebuilt image, on any kernel', () => {
    const ds = only(set, 'DaemonSet');
    const c = container(ds);
    expect(c.image).toBe('image-registry.openshift-image-registry.svc:5000/kmodlab-simple-kmod-dtk/simple-kmod-driver-container:latest');
    expect(JSON.parse(ds.metadata.annotations!['image.openshift.io/triggers']!)[0].from).toEqual({ kind: 'ImageStreamTag', name: 'simple-kmod-driver-container:latest' });
    expect(podSpec(ds).affinity).toBeUndefined();
    expect(c.lifecycle.postStart.exec.command).toEqual(['modprobe', '-v', '-a', 'simple_kmod', 'simple_procfs_kmod']);
    expect(spec(ds).updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
  });

  it('README states the upgrade window', () => {
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain('oc start-build simple-kmod-driver-source-build -n kmodlab-simple-kmod-dtk --from-dir="$DRIVER_SRC" --follow');
    expect(readme).toMatch(/absent on that node until it reboots/);
    expect(readme).toMatch(/openshift\/driver-toolkit:latest/);
  });

  it('builds a git driver directly, rebuilt on creation and on DTK changes', () => {
    const git = render(gitDriver, { variant: 'tracking' });
    expectEveryObjectValidAndLabelled(git, gitDriver);
    expect(allObjects(git).filter((o) => o.kind === 'BuildConfig')).toHaveLength(1);
    expect(findFile(git, 'Containerfile.source')).toBeUndefined();
    expect(spec(only(git, 'BuildConfig')).triggers.map((t: any) => t.type)).toEqual(['ConfigChange', 'ImageChange']);
    expect(findFile(git, 'Containerfile')!.content).toContain('git clone -q --depth 1 --branch v2.3.1');
  });
});

describe('dtk Day 1', () => {
  it('needs --registry: the in-cluster build cannot run at install time', () => {
    expect(() => render(reference, { day1: true })).toThrow(UserError);
    expect(() => render(reference, { day1: true })).toThrow(/--day1 with dtk needs --registry/);
  });

  it('refuses the tracking variant', () => {
    expect(() => render(reference, { day1: true, registry: 'quay.io/acme', variant: 'tracking' })).toThrow(UserError);
  });

  it('renders installer manifests with a prebuilt image and no build objects', () => {
    const set = render(reference, { day1: true, registry: 'quay.io/acme' });
    expect(set.day1).toBe(true);
    expectEveryObjectValidAndLabelled(set, reference);
    const manifests = set.files.filter((f) => f.objects);
    expect(manifests.map((f) => f.path)).toEqual([
      'openshift/99_kmodlab-simple-kmod-namespace.yaml',
      'openshift/99_kmodlab-simple-kmod-serviceaccount.yaml',
      'openshift/99_kmodlab-simple-kmod-role.yaml',
      'openshift/99_kmodlab-simple-kmod-rolebinding.yaml',
      'openshift/99_kmodlab-simple-kmod-daemonset.yaml',
    ]);
    for (const f of manifests) expect(f.phase).toBe('day1');
    for (const o of allObjects(set)) expect(o.metadata.annotations?.[ANNOTATION_INSTALL_PHASE]).toBe('day1');
    expect(allObjects(set).map((o) => o.kind)).not.toEqual(expect.arrayContaining(['BuildConfig']));
    expect(allObjects(set).map((o) => o.kind)).not.toEqual(expect.arrayContaining(['ImageStream']));

    const ds = only(set, 'DaemonSet');
    const c = container(ds);
    expect(c.image).toBe(`quay.io/acme/simple-kmod-driver-container:${KVER}`);
    expect(c.imagePullPolicy).toBe('Always');
    expect(ds.metadata.annotations?.['image.openshift.io/triggers']).toBeUndefined();
    expect(c.lifecycle.postStart.exec.command).toEqual(['modprobe', '-v', '-a', 'simple_kmod', 'simple_procfs_kmod']);

    expect(findFile(set, 'Containerfile')!.phase).toBe('build');
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain(`--build-arg DTK=${DTK_IMAGE}`);
    expect(readme).toContain(`--build-arg KVER=${KVER}`);
    expect(readme).toContain('openshift-install create manifests --dir "$INSTALL_DIR"');
    expect(readme).toContain('cp openshift/*.yaml "$INSTALL_DIR"/openshift/');
    expect(readme).toMatch(/not\*\* loaded at first boot/);
  });

  it('differs from Day 2 only where it must: same pod, different image source', () => {
    const day1 = only(render(reference, { day1: true, registry: 'quay.io/acme' }), 'DaemonSet');
    const day2 = only(render(reference), 'DaemonSet');
    const strip = (ds: K8sObject) => {
      const ps = structuredClone(podSpec(ds));
      delete ps.containers[0].image;
      delete ps.containers[0].imagePullPolicy;
      return ps;
    };
    expect(strip(day1)).toEqual(strip(day2));
    expect(container(day1).image).not.toBe(container(day2).image);
  });
});

describe('dtk: drivers with firmware and in-tree modules to remove', () => {
  const driver = parseDriverSpec(
    {
      name: 'fw-drv',
      source: { git: { url: 'https://example.com/fw-drv.git', ref: 'main' } },
      modules: ['fw_drv'],
      inTreeModulesToRemove: ['fw-drv-old'],
      firmware: [{ source: 'fw/fw-drv.bin', target: 'acme/fw-drv.bin' }],
    },
    'test firmware driver',
  );

  it('removes the in-tree module, installs the firmware on the host, then loads', () => {
    const set = render(driver);
    expectEveryObjectValidAndLabelled(set, driver);
    const ds = only(set, 'DaemonSet');
    const cmd = container(ds).lifecycle.postStart.exec.command;
    expect(cmd.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const script: string = cmd[2];
    expect(script.indexOf('rmmod fw_drv_old')).toBeGreaterThanOrEqual(0);
    expect(script.indexOf('rmmod fw_drv_old')).toBeLessThan(script.indexOf('modprobe -v -a fw_drv'));
    expect(script).toContain('/host/var/lib/firmware/acme/fw-drv.bin');
    expect(script.endsWith('modprobe -v -a fw_drv')).toBe(true);
    expect(podSpec(ds).volumes).toEqual([
      { name: 'host-modules', hostPath: { path: '/usr/lib/modules', type: 'Directory' } },
      { name: 'host-firmware', hostPath: { path: '/var/lib/firmware', type: 'DirectoryOrCreate' } },
    ]);
    expect(findFile(set, 'Containerfile')!.content).toContain('COPY --from=builder /build/out/lib/firmware/ /lib/firmware/');
  });
});
