/**
 * The KMM method: what the rendered Module makes KMM do (load order, parameters, kernel
 * mapping, images), the operator install, Day 1 vs Day 2, signing, placeholders, and
 * every object checked against the upstream schemas.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, artifactText, ArtifactSetSchema, findFile, type ArtifactSet, type K8sObject } from '../../src/artifacts/artifact-set.js';
import { loadDriver, parseDriverSpec } from '../../src/driver/load.js';
import { canonicalModuleName, type DriverSpec } from '../../src/driver/spec.js';
import { UserError } from '../../src/errors.js';
import { ANNOTATION_INSTALL_PHASE, standardLabels } from '../../src/labels.js';
import { FEATURE_KEYS, RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { kmmMethod } from '../../src/methods/kmm/index.js';
import { KMM_VERSIONS } from '../../src/methods/kmm/versions.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { PLACEHOLDERS } from '../../src/release/placeholders.js';
import { ReleaseSchema, type Release, type ReleaseInput } from '../../src/release/release.js';
import { parseYamlStream } from '../../src/yaml.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';

const KVER = '5.14.0-284.52.1.el9_2.x86_64';
const DTK = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'a1'.repeat(32)}`;
const RELEASE: ReleaseInput = { version: '4.14.12', kernelVersion: KVER, sources: {} };
const INTERNAL = 'image-registry.openshift-image-registry.svc:5000';

function release(input: ReleaseInput): Release {
  return ReleaseSchema.parse(input);
}

function render(driver: DriverSpec, rel: ReleaseInput = RELEASE, opts: RenderOptionsInput = {}): ArtifactSet {
  return ArtifactSetSchema.parse(kmmMethod.render(driver, release(rel), RenderOptionsSchema.parse(opts)));
}

function userErrorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}

function objectOf(set: ArtifactSet, kind: string, name?: string): K8sObject {
  const found = allObjects(set).filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
}

type Json = Record<string, any>;
const spec = (o: K8sObject): Json => (o as Json).spec;
const container = (set: ArtifactSet): Json => spec(objectOf(set, 'Module')).moduleLoader.container;

/** The load order KMM's softdeps produce and the order of its `modprobe -r`. */
function kmmOrders(modprobe: Json): { load: string[]; unload: string[] } {
  const list: string[] = modprobe.modulesLoadingOrder ?? [modprobe.moduleName];
  return { load: [...list].reverse(), unload: [...list] };
}

/** Checks every object of the set: upstream schema, and that the YAML text round-trips. */
function expectAllValid(set: ArtifactSet): void {
  const objects = allObjects(set);
  expect(objects.length).toBeGreaterThan(0);
  for (const o of objects) assertValidK8sObject(o);
  for (const f of set.files.filter((f) => f.objects)) {
    expect(parseYamlStream(artifactText(f))).toEqual(JSON.parse(JSON.stringify(f.objects)));
  }
}

let reference: DriverSpec;
beforeAll(async () => {
  reference = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
});

/** A git-source driver with everything KMM has a field for. */
function fullDriver(extra: Record<string, unknown> = {}): DriverSpec {
  return parseDriverSpec(
    {
      name: 'acme-nic',
      version: '2.3.1',
      source: { git: { url: 'https://example.com/acme/nic.git', ref: 'v2.3.1' } },
      modules: ['acme_nic'],
      moduleParameters: { acme_nic: { debug: 1, mode: 'fast' } },
      inTreeModulesToRemove: ['acme-nic-old', 'ice'],
      firmware: [{ source: 'fw/acme.bin', target: 'acme/acme.bin' }],
      signing: { keySecret: 'acme-signing-key', certSecret: 'acme-signing-cert' },
      ...extra,
    },
    'test',
  );
}

describe('kmm Day 2, reference driver (path source), known release', () => {
  let set: ArtifactSet;
  beforeAll(() => {
    set = render(reference);
  });

  it('renders the operator install, the driver objects, the source image Containerfile and a README', () => {
    expect(set.method).toBe('kmm');
    expect(set.day1).toBe(false);
    expect(set.files.map((f) => [f.path, f.phase])).toEqual([
      ['00-operator-namespace.yaml', 'day2'],
      ['01-operatorgroup.yaml', 'day2'],
      ['02-subscription.yaml', 'day2'],
      ['Containerfile.source', 'build'],
      ['10-namespace.yaml', 'day2'],
      ['10-worker-rbac.yaml', 'day2'],
      ['11-dockerfile-configmap.yaml', 'day2'],
      ['12-module.yaml', 'day2'],
      ['README.md', 'doc'],
    ]);
  });

  it('every object is valid against the upstream schemas and carries the standard labels', () => {
    expectAllValid(set);
    // the oracle is not vacuous: a misspelt Module field is rejected
    const broken = structuredClone(objectOf(set, 'Module')) as Json;
    broken.spec.moduleLoader.container.modprobe.modulesLoadOrder = ['x', 'y'];
    expect(() => assertValidK8sObject(broken)).toThrow(/modulesLoadOrder/);
    for (const o of allObjects(set)) {
      const labels = o.metadata.labels ?? {};
      const component = labels['app.kubernetes.io/component'];
      expect(component, `${o.kind} ${o.metadata.name}`).toBeTruthy();
      expect(labels).toEqual(standardLabels('simple-kmod', 'kmm', component, '1.0.0'));
      expect(o.metadata.annotations?.[ANNOTATION_INSTALL_PHASE]).toBeUndefined();
    }
  });

  it('installs the KMM operator from redhat-operators, channel stable, all namespaces', () => {
    expect(objectOf(set, 'Namespace', 'openshift-kmm')).toBeTruthy();
    const og = objectOf(set, 'OperatorGroup');
    expect(og.metadata.namespace).toBe('openshift-kmm');
    expect((og as Json).spec?.targetNamespaces).toBeUndefined();
    const sub = objectOf(set, 'Subscription');
    expect(sub.metadata).toMatchObject({ name: 'kernel-module-management', namespace: 'openshift-kmm' });
    expect(spec(sub)).toEqual({
      channel: 'stable',
      installPlanApproval: 'Automatic',
      name: 'kernel-module-management',
      source: 'redhat-operators',
      sourceNamespace: 'openshift-marketplace',
    });
  });

  it('makes KMM load the modules in the driver order and unload them in reverse', () => {
    const modprobe = container(set).modprobe;
    const driverOrder = reference.modules.map((m) => canonicalModuleName(m.name));
    expect(driverOrder).toEqual(['simple_kmod', 'simple_procfs_kmod']);
    // KMM: first entry == moduleName, loaded last; at least two entries.
    expect(modprobe.moduleName).toBe('simple_procfs_kmod');
    expect(modprobe.modulesLoadingOrder[0]).toBe(modprobe.moduleName);
    expect(kmmOrders(modprobe).load).toEqual(driverOrder);
    expect(kmmOrders(modprobe).unload).toEqual([...driverOrder].reverse());
    expect(modprobe.dirName).toBe('/opt');
    expect(modprobe.firmwarePath).toBeUndefined();
  });

  it('does not give simple_kmod its parameter to the wrong module, and says so in the README', () => {
    expect(container(set).modprobe.parameters).toBeUndefined();
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain('Module parameters KMM cannot pass');
    expect(readme).toContain('`simple_kmod`: `greeting=kmodlab`');
  });

  it('maps the release kernel family to an image tagged per driver version and kernel, built in the cluster', () => {
    const c = container(set);
    expect(c.kernelMappings).toHaveLength(1);
    const mapping = c.kernelMappings[0];
    const re = new RegExp(mapping.regexp);
    expect(re.test(KVER)).toBe(true);
    expect(re.test('5.14.0-284.59.1.el9_2.x86_64')).toBe(true); // next z-stream
    expect(re.test('5.14.0-284.52.1.rt14.337.el9_2.x86_64')).toBe(true); // realtime
    expect(re.test('4.18.0-372.73.1.el8_6.x86_64')).toBe(false);
    expect(mapping.containerImage).toBe(`${INTERNAL}/kmodlab-simple-kmod/simple-kmod-kmm:1.0.0-\${KERNEL_FULL_VERSION}`);
    const tag = mapping.containerImage.split(':').pop().replace('${KERNEL_FULL_VERSION}', KVER);
    expect(tag).toMatch(/^[\w][\w.-]{0,127}$/);
    const cm = objectOf(set, 'ConfigMap');
    expect(mapping.build).toEqual({ dockerfileConfigMap: { name: cm.metadata.name } });
    expect(mapping.sign).toBeUndefined();
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.inTreeModulesToRemove).toBeUndefined();
    expect(c.version).toBeUndefined(); // ordered upgrade is opt-in (README): a version without node labels loads nothing
  });

  it('targets the pool and runs the workers with a ServiceAccount allowed to use the privileged SCC', () => {
    const m = objectOf(set, 'Module');
    expect(m.metadata).toMatchObject({ name: 'simple-kmod', namespace: 'kmodlab-simple-kmod' });
    expect(spec(m).selector).toEqual({ 'node-role.kubernetes.io/worker': '' });
    expect(spec(m).imageRepoSecret).toBeUndefined(); // internal registry: builder/worker SAs have access
    const sa = objectOf(set, 'ServiceAccount');
    expect(spec(m).moduleLoader.serviceAccountName).toBe(sa.metadata.name);
    const role = objectOf(set, 'Role') as Json;
    expect(role.rules).toEqual([
      { apiGroups: ['security.openshift.io'], resources: ['securitycontextconstraints'], resourceNames: ['privileged'], verbs: ['use'] },
    ]);
    const rb = objectOf(set, 'RoleBinding') as Json;
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'kmodlab-simple-kmod' }]);
    for (const o of [m, sa, role, rb, objectOf(set, 'ConfigMap')]) expect(o.metadata.namespace).toBe('kmodlab-simple-kmod');
  });

  it('builds FROM ${DTK_AUTO} with KVER = KERNEL_FULL_VERSION and lays the modules under /opt for depmod', () => {
    const df: string = (objectOf(set, 'ConfigMap') as Json).data.dockerfile;
    const lines = df.split('\n');
    const idx = (s: string) => lines.findIndex((l) => l.startsWith(s));
    expect(idx('ARG DTK_AUTO')).toBeGreaterThanOrEqual(0);
    expect(idx('ARG DTK_AUTO')).toBeLessThan(idx('FROM ${DTK_AUTO} AS builder'));
    expect(idx('ARG KERNEL_FULL_VERSION')).toBeGreaterThan(idx('FROM ${DTK_AUTO} AS builder'));
    expect(lines).toContain('ENV KVER=${KERNEL_FULL_VERSION}');
    expect(df).toContain(`COPY --from=${INTERNAL}/kmodlab-simple-kmod/simple-kmod-source:1.0.0 /src/ /build/src/`);
    expect(df).toContain(' && make KVER=${KVER} \\');
    // The check of the build tree comes first in the build's RUN.
    expect(df.indexOf('test -d "/lib/modules/${KVER}/build"')).toBeLessThan(df.indexOf('make KVER=${KVER}'));
    const final = lines.slice(lines.findIndex((l) => l.startsWith('FROM registry.redhat.io/ubi9/ubi-minimal')));
    expect(final.length).toBeGreaterThan(1);
    expect(final).toContain('ARG KERNEL_FULL_VERSION');
    expect(final.some((l) => /microdnf install -y kmod/.test(l))).toBe(true);
    expect(final).toContain('COPY --from=builder /build/out/lib/modules/${KERNEL_FULL_VERSION}/ /opt/lib/modules/${KERNEL_FULL_VERSION}/');
    expect(final[final.length - 2]).toBe(' && depmod -b /opt ${KERNEL_FULL_VERSION}');
    // Each RUN is a container start for the build: the builder's one, the kmod stage's one.
    expect(df.match(/^RUN /gm)).toHaveLength(2);
    expect(df).not.toContain('/firmware');
  });

  it('ships the source image Containerfile and tells how to push it to the internal registry', () => {
    expect(findFile(set, 'Containerfile.source')!.content).toContain('COPY . /src/');
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain('podman push $REGISTRY/kmodlab-simple-kmod/simple-kmod-source:1.0.0');
    expect(readme).toContain('oc get nodes -l kmm.node.kubernetes.io/kmodlab-simple-kmod.simple-kmod.ready');
    expect(readme).toContain(`lsmod | grep -E '^(simple_kmod|simple_procfs_kmod) '`);
    expect(readme).toContain('oc delete -f 12-module.yaml');
    expect(readme).toContain('modprobe -r simple_procfs_kmod simple_kmod');
    expect(readme).toContain('PreflightValidationOCP');
    expect(readme).toContain('spec.moduleLoader.container.version');
    expect(readme).toContain(`simple-kmod-kmm:1.0.0-${KVER}`);
  });

  it('needs no placeholder: KMM finds the DTK and the kernel itself', () => {
    expect(set.placeholders).toEqual([]);
    for (const f of set.files) expect(artifactText(f)).not.toContain('FILL_ME');
  });
});

describe('kmm with an unknown kernel', () => {
  it('maps every kernel, says so, and still needs no placeholder on Day 2', () => {
    const set = render(reference, { sources: {} });
    expectAllValid(set);
    const mapping = container(set).kernelMappings[0];
    expect(mapping.regexp).toBe('^.+$');
    expect(findFile(set, 'README.md')!.content).toContain('Kernel unknown');
    expect(set.placeholders).toEqual([]);
  });
});

describe('kmm with a git-source driver: signing, firmware, in-tree replacement, options', () => {
  const opts = { registry: 'quay.io/acme', namespace: 'nic-drivers', pool: 'master', kmmVersion: '2.6' } as const;
  let driver: DriverSpec;
  let set: ArtifactSet;
  beforeAll(() => {
    driver = fullDriver();
    set = render(driver, RELEASE, opts);
  });

  it('is valid and fetches the source with git (no source image)', () => {
    expectAllValid(set);
    expect(findFile(set, 'Containerfile.source')).toBeUndefined();
    const df: string = (objectOf(set, 'ConfigMap') as Json).data.dockerfile;
    expect(df).toContain('git clone -q --depth 1 --branch v2.3.1 https://example.com/acme/nic.git /build/src');
    expect(df).not.toContain('COPY --from=quay.io/acme/acme-nic-source');
  });

  it('loads the single module with its own parameters', () => {
    const modprobe = container(set).modprobe;
    expect(modprobe.moduleName).toBe('acme_nic');
    expect(modprobe.modulesLoadingOrder).toBeUndefined(); // KMM requires at least two entries
    expect(modprobe.parameters).toEqual(['debug=1', 'mode=fast']);
    expect(findFile(set, 'README.md')!.content).not.toContain('Module parameters KMM cannot pass');
  });

  it('copies firmware to /firmware in the image and sets firmwarePath', () => {
    expect(container(set).modprobe.firmwarePath).toBe('/firmware');
    const df: string = (objectOf(set, 'ConfigMap') as Json).data.dockerfile;
    expect(df).toContain('COPY --from=builder /build/out/lib/firmware/ /firmware/');
  });

  it('removes the in-tree modules as named', () => {
    expect(container(set).inTreeModulesToRemove).toEqual(['acme-nic-old', 'ice']);
  });

  it('signs every module by glob path, without unsignedImage (ignored with a build), keys only as Secret references', () => {
    const sign = container(set).kernelMappings[0].sign;
    expect(sign).toEqual({
      keySecret: { name: 'acme-signing-key' },
      certSecret: { name: 'acme-signing-cert' },
      filesToSign: ['/opt/lib/modules/*/extra/acme_nic.ko'],
    });
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain('oc create secret generic acme-signing-key -n nic-drivers --from-file=key=');
    expect(readme).toContain('oc create secret generic acme-signing-cert -n nic-drivers --from-file=cert=');
    expect(allObjects(set).some((o) => o.kind === 'Secret')).toBe(false);
    for (const f of set.files) expect(artifactText(f)).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  });

  it('uses the namespace, registry and pool given, with a registry Secret for push and pull', () => {
    const m = objectOf(set, 'Module');
    expect(m.metadata.namespace).toBe('nic-drivers');
    expect(objectOf(set, 'Namespace', 'nic-drivers')).toBeTruthy();
    expect(spec(m).selector).toEqual({ 'node-role.kubernetes.io/master': '' });
    expect(container(set).kernelMappings[0].containerImage).toBe('quay.io/acme/acme-nic-kmm:2.3.1-${KERNEL_FULL_VERSION}');
    expect(spec(m).imageRepoSecret).toEqual({ name: 'acme-nic-kmm-registry' });
    expect(findFile(set, 'README.md')!.content).toContain('oc create secret generic acme-nic-kmm-registry -n nic-drivers --type=kubernetes.io/dockerconfigjson');
  });

  it("adds the registry credentials under the repository key, never replacing the cluster pull secret's quay.io key (Day 1 and Day 2)", () => {
    const day1 = render(fullDriver(), RELEASE, { day1: true, registry: 'quay.io/acme', namespace: 'nic-drivers', kmmVersion: '2.6' });
    for (const s of [set, day1]) {
      const readme = findFile(s, 'README.md')!.content!;
      // podman login writes its credentials under the key it is given: a bare `quay.io`
      // would replace the cluster's own quay.io entry in the merged auth file.
      const logins = [...readme.matchAll(/podman login --authfile (\S+) ([^\s`]+)/g)].map((m) => m[2]);
      expect(logins.length, 'README logs in with an auth file').toBeGreaterThan(0);
      for (const target of logins) expect(target).toBe('quay.io/acme');
      expect(readme).not.toMatch(/add read credentials for `quay\.io` /);
    }
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain('a build secret wins over the cluster pull secret for the same key');
  });

  it('keeps absolute filesToSign under /opt, resolves relative ones, and refuses paths outside /opt', () => {
    const given = fullDriver({ signing: { keySecret: 'k', certSecret: 'c', filesToSign: ['extra/acme_nic.ko', '/opt/lib/modules/${KERNEL_FULL_VERSION}/extra/x.ko'] } });
    expect(container(render(given, RELEASE, opts)).kernelMappings[0].sign.filesToSign).toEqual([
      '/opt/lib/modules/*/extra/acme_nic.ko',
      '/opt/lib/modules/${KERNEL_FULL_VERSION}/extra/x.ko',
    ]);
    const bad = fullDriver({ signing: { keySecret: 'k', certSecret: 'c', filesToSign: ['/lib/modules/x.ko'] } });
    expect(userErrorOf(() => render(bad, RELEASE, opts)).message).toMatch(/outside \/opt/);
  });

  it('signs each module file by its basename when modules live in subdirectories', () => {
    const d = fullDriver({ modules: ['acme_core', { name: 'acme_nic', file: 'eth/acme_nic.ko' }], moduleParameters: {} });
    expect(container(render(d, RELEASE, opts)).kernelMappings[0].sign.filesToSign).toEqual(['/opt/lib/modules/*/extra/acme_core.ko', '/opt/lib/modules/*/extra/acme_nic.ko']);
  });
});

describe('kmm options', () => {
  it('rejects an unknown variant', () => {
    expect(userErrorOf(() => render(reference, RELEASE, { variant: 'prebuilt' })).message).toMatch(/in-cluster-build/);
    expect(render(reference, RELEASE, { variant: 'in-cluster-build' }).variant).toBe('in-cluster-build');
  });

  it('lists one sourced feature per key', () => {
    expect(kmmMethod.features.map((f) => f.key).sort()).toEqual(Object.keys(FEATURE_KEYS).sort());
    for (const f of kmmMethod.features) {
      expect(f.value.length).toBeGreaterThan(0);
      expect(f.source).toMatch(/^https:\/\/(github\.com\/(kubernetes-sigs|rh-ecosystem-edge)\/kernel-module-management\/blob\/main\/docs\/|docs\.redhat\.com\/)/);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Day 1
// ---------------------------------------------------------------------------------------

function decodeDataUrl(url: string): string {
  const m = /^data:[^,]*;base64,(.*)$/.exec(url);
  expect(m, url.slice(0, 40)).toBeTruthy();
  return Buffer.from(m![1]!, 'base64').toString('utf8');
}

function day1Parts(set: ArtifactSet): { mc: Json; script: string; units: Json[] } {
  const mc = objectOf(set, 'MachineConfig') as Json;
  const cfg = mc.spec.config;
  expect(cfg.storage.files).toHaveLength(1);
  return { mc, script: decodeDataUrl(cfg.storage.files[0].contents.source), units: cfg.systemd.units };
}

/**
 * Runs the Day-1 script with podman, modprobe, uname, systemctl and sleep replaced by
 * stubs that log their arguments, and its image store moved to a temporary directory
 * (nothing on this machine is touched). The podman stub's `save -o <file>` writes the file.
 */
function runDay1Script(script: string, action: 'load' | 'pull', opts: { kernel: string; archived: boolean }): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-kmm-day1-'));
  const log = path.join(dir, 'calls.log');
  const store = path.join(dir, 'store');
  const stub = (name: string, body = '') => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(file, 0o755);
  };
  stub('uname', `echo '${opts.kernel}'`);
  stub('podman', '[ "$1" = save ] && : > "$3"\nexit 0');
  for (const name of ['modprobe', 'systemctl', 'sleep']) stub(name);
  const file = path.join(dir, 'day1.sh');
  const storeLine = /^IMAGE_STORE='[^']*'$/m;
  expect(script).toMatch(storeLine);
  writeFileSync(file, script.replace(storeLine, `IMAGE_STORE='${store}'`));
  if (opts.archived) {
    mkdirSync(store, { recursive: true });
    writeFileSync(path.join(store, `${opts.kernel.replace(/[^A-Za-z0-9._-]/g, '_')}.tar`), '');
  }
  try {
    execFileSync('bash', [file, action], { env: { PATH: `${dir}:/usr/bin:/bin` }, stdio: 'pipe' });
    return readFileSync(log, 'utf8').trim().split('\n').filter((l) => !l.startsWith('uname ')).map((l) => l.replaceAll(store, '<store>'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('kmm Day 1', () => {
  it('needs --registry: the image must be pullable at first boot', () => {
    const e = userErrorOf(() => render(reference, RELEASE, { day1: true }));
    expect(e.message).toContain('--day1 with kmm needs --registry <repo prefix>');
  });

  describe('reference driver, --registry quay.io/acme', () => {
    let set: ArtifactSet;
    beforeAll(() => {
      set = render(reference, RELEASE, { day1: true, registry: 'quay.io/acme' });
    });

    it('puts the operator install and the MachineConfig in installer manifests, the Module stays Day 2', () => {
      expect(set.day1).toBe(true);
      const day1 = set.files.filter((f) => f.phase === 'day1');
      expect(day1.map((f) => f.path)).toEqual([
        'openshift/99_kmodlab-simple-kmod-kmm-operator-namespace.yaml',
        'openshift/99_kmodlab-simple-kmod-kmm-operatorgroup.yaml',
        'openshift/99_kmodlab-simple-kmod-kmm-subscription.yaml',
        'openshift/99_kmodlab-simple-kmod-kmm-machineconfig.yaml',
      ]);
      for (const o of allObjects(set, 'day1')) expect(o.metadata.annotations?.[ANNOTATION_INSTALL_PHASE]).toBe('day1');
      for (const o of allObjects(set, 'day2')) expect(o.metadata.annotations?.[ANNOTATION_INSTALL_PHASE]).toBeUndefined();
      expect(set.files.some((f) => /^0\d-/.test(f.path))).toBe(false);
      expect(findFile(set, '12-module.yaml')!.phase).toBe('day2');
      expect(findFile(set, 'Containerfile')!.phase).toBe('build');
      expect(findFile(set, 'Containerfile')!.content).toBe((objectOf(set, 'ConfigMap') as Json).data.dockerfile);
    });

    it('every object is valid and labelled; the MachineConfig targets the pool', () => {
      expectAllValid(set);
      for (const o of allObjects(set)) {
        const labels = o.metadata.labels ?? {};
        expect(labels).toMatchObject(standardLabels('simple-kmod', 'kmm', labels['app.kubernetes.io/component'], '1.0.0'));
      }
      const { mc } = day1Parts(set);
      expect(mc.metadata.name).toBe('99-worker-kmodlab-simple-kmod-kmm');
      expect(mc.metadata.labels['machineconfiguration.openshift.io/role']).toBe('worker');
      expect(mc.spec.config.ignition).toEqual({ version: '3.2.0' });
      const file = mc.spec.config.storage.files[0];
      expect(file).toMatchObject({ path: '/usr/local/bin/kmodlab-simple-kmod-kmm.sh', mode: 0o755, overwrite: true });
    });

    it('loads before network-pre.target, pulls after network-online.target, and masks crio-wipe as KMM does', () => {
      const { units } = day1Parts(set);
      expect(units.map((u) => [u.name, u.enabled])).toEqual([
        ['kmodlab-simple-kmod-kmm-load.service', true],
        ['kmodlab-simple-kmod-kmm-pull.service', true],
        ['crio-wipe.service', false],
      ]);
      // KMM's Day-1 MachineConfig masks crio-wipe so the pulled image survives the first reboot
      expect(units[2]).toEqual({ name: 'crio-wipe.service', enabled: false, mask: true });
      const load = (units[0]!.contents as string).split('\n');
      const pull = (units[1]!.contents as string).split('\n');
      expect(load).toEqual(expect.arrayContaining(['DefaultDependencies=no', 'Before=network-pre.target crio-wipe.service', 'Wants=network-pre.target', 'ExecStart=/usr/local/bin/kmodlab-simple-kmod-kmm.sh load', 'WantedBy=multi-user.target']));
      expect(pull).toEqual(expect.arrayContaining(['Wants=network-online.target', 'ExecStart=/usr/local/bin/kmodlab-simple-kmod-kmm.sh pull', 'EnvironmentFile=-/etc/mco/proxy.env']));
      expect(pull.find((l) => l.startsWith('After='))).toContain('network-online.target');
      expect(pull.find((l) => l.startsWith('After='))).toContain('machine-config-daemon-firstboot.service');
    });

    it('the script is valid bash', () => {
      const { script } = day1Parts(set);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-kmm-'));
      writeFileSync(path.join(dir, 's.sh'), script);
      try {
        execFileSync('bash', ['-n', path.join(dir, 's.sh')]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('load: runs the image tagged <repo>:<uname -r> through podman, as KMM\'s worker, loading each module in order with its parameters', () => {
      const { script } = day1Parts(set);
      const calls = runDay1Script(script, 'load', { kernel: KVER, archived: true });
      const image = `quay.io/acme/simple-kmod-kmm-1.0.0:${KVER}`;
      expect(calls[0]).toBe(`podman load -q -i <store>/${KVER}.tar`);
      const run = 'podman run --rm --privileged --user=root --network=none -v /lib/modules:/lib/modules:ro';
      expect(calls.filter((c) => c.startsWith('podman run'))).toEqual([
        `${run} ${image} modprobe -v -d /opt simple_kmod greeting=kmodlab`,
        `${run} ${image} modprobe -v -d /opt simple_procfs_kmod`,
      ]);
      expect(calls.filter((c) => /^(modprobe|systemctl)/.test(c))).toEqual([]); // nothing loaded by the host's modprobe
    });

    it('load without the image does nothing (no network yet); pull fetches it with the node pull secret, keeps an archive and reboots', () => {
      const { script } = day1Parts(set);
      const load = runDay1Script(script, 'load', { kernel: KVER, archived: false });
      expect(load.filter((c) => /^(modprobe|podman)/.test(c))).toEqual([]);
      const pull = runDay1Script(script, 'pull', { kernel: KVER, archived: false });
      const image = `quay.io/acme/simple-kmod-kmm-1.0.0:${KVER}`;
      expect(pull).toEqual([
        `podman pull --authfile /var/lib/kubelet/config.json ${image}`,
        `podman save -o <store>/${KVER}.tar.part ${image}`,
        'systemctl reboot',
      ]);
      const present = runDay1Script(script, 'pull', { kernel: KVER, archived: true });
      expect(present.filter((c) => /^(podman|systemctl)/.test(c))).toEqual([]);
    });

    it('the Module builds the images the Day-1 units pull (same repository and tag scheme)', () => {
      expect(container(set).kernelMappings[0].containerImage).toBe('quay.io/acme/simple-kmod-kmm-1.0.0:${KERNEL_FULL_VERSION}');
    });

    it('tags like KMM for a 4.16+ realtime kernel (+rt → _rt)', () => {
      const { script } = day1Parts(set);
      const rt = '5.14.0-427.13.1.el9_4.x86_64+rt';
      const calls = runDay1Script(script, 'pull', { kernel: rt, archived: false });
      expect(calls).toContain('podman pull --authfile /var/lib/kubelet/config.json quay.io/acme/simple-kmod-kmm-1.0.0:5.14.0-427.13.1.el9_4.x86_64_rt');
    });

    it('README: build the image before installing, copy the manifests, extra reboot, Module after install', () => {
      const readme = findFile(set, 'README.md')!.content!;
      expect(readme).toContain('openshift-install create manifests --dir "$INSTALL_DIR"');
      expect(readme).toContain('cp openshift/99_kmodlab-simple-kmod-kmm-machineconfig.yaml "$INSTALL_DIR"/openshift/');
      expect(readme).toContain(`--build-arg KERNEL_FULL_VERSION=${KVER}`);
      expect(readme).toContain(`podman push quay.io/acme/simple-kmod-kmm-1.0.0:${KVER}`);
      expect(readme).toContain("modelled on KMM's Day-1 utility");
      // the off-cluster build sees the kernel's module tree, as KMM's in-cluster builds do
      expect(readme).toContain(`podman cp "$ctr:/lib/modules/${KVER}" ./host-modules`);
      expect(readme).toContain(`-v "$PWD/host-modules:/lib/modules/${KVER}:ro"`);
      expect(readme).toContain('**In-tree dependencies.**');
      expect(readme).toContain('reboots **once more**');
      expect(readme).toMatch(/The `Module` cannot be a Day-1 manifest/);
    });

    it('uses placeholders only for the facts it lacks (the DTK for the off-cluster build)', () => {
      expect(set.placeholders.map((p) => p.token)).toEqual([PLACEHOLDERS.driverToolkitImage.token]);
      expect(findFile(set, 'README.md')!.content).toContain(`--build-arg DTK_AUTO=${PLACEHOLDERS.driverToolkitImage.token}`);
      for (const f of set.files.filter((f) => f.phase !== 'doc')) expect(artifactText(f)).not.toContain('FILL_ME');
    });
  });

  it('placeholders disappear when the facts are known and appear when they are not', () => {
    const known = render(reference, { ...RELEASE, driverToolkitImage: DTK }, { day1: true, registry: 'quay.io/acme' });
    expect(known.placeholders).toEqual([]);
    expect(findFile(known, 'README.md')!.content).toContain(`--build-arg DTK_AUTO=${DTK}`);
    for (const f of known.files) expect(artifactText(f)).not.toContain('FILL_ME');

    const unknown = render(reference, { sources: {} }, { day1: true, registry: 'quay.io/acme' });
    expect(unknown.placeholders.map((p) => p.token).sort()).toEqual([PLACEHOLDERS.driverToolkitImage.token, PLACEHOLDERS.kernelVersion.token].sort());
    const readme = findFile(unknown, 'README.md')!.content!;
    for (const p of unknown.placeholders) expect(readme).toContain(`| \`${p.token}\` |`);
    expect(readme).toContain(`--build-arg KERNEL_FULL_VERSION=${PLACEHOLDERS.kernelVersion.token}`);
  });

  it('git driver with firmware and in-tree modules: the script sets the firmware path and unloads only loaded in-tree modules', () => {
    const set = render(fullDriver(), RELEASE, { day1: true, registry: 'quay.io/acme', pool: 'master', kmmVersion: '2.6' });
    expectAllValid(set);
    const { mc, script } = day1Parts(set);
    expect(mc.metadata.labels['machineconfiguration.openshift.io/role']).toBe('master');
    expect(mc.metadata.name).toBe('99-master-kmodlab-acme-nic-kmm');
    const calls = runDay1Script(script, 'load', { kernel: KVER, archived: true });
    // the firmware is copied out of the image by running it, like KMM's worker
    expect(calls).toContain(`podman run --rm --privileged --user=root --network=none -v /lib/modules:/lib/modules:ro -v /var/lib/firmware:/var/lib/firmware quay.io/acme/acme-nic-kmm-2.3.1:${KVER} cp -r /firmware/. /var/lib/firmware/`);
    expect(script).toContain("printf '%s' /var/lib/firmware > /sys/module/firmware_class/parameters/path");
    expect(script).toContain("if grep -q '^acme_nic_old ' /proc/modules; then");
    expect(script).toContain('modprobe -v -r acme-nic-old');
    expect(calls[calls.length - 1]).toBe(`podman run --rm --privileged --user=root --network=none -v /lib/modules:/lib/modules:ro quay.io/acme/acme-nic-kmm-2.3.1:${KVER} modprobe -v -d /opt acme_nic debug=1 mode=fast`);
    expect(findFile(set, 'Containerfile.source')).toBeUndefined();
  });

  it('with signing, ships a Containerfile that signs the off-cluster Day-1 image (KMM signs only in-cluster builds)', () => {
    const set = render(fullDriver(), { ...RELEASE, driverToolkitImage: DTK }, { day1: true, registry: 'quay.io/acme', kmmVersion: '2.6' });
    const sign = findFile(set, 'Containerfile.sign')!;
    expect(sign.phase).toBe('build');
    const text = sign.content!;
    expect(text).toContain('RUN --mount=type=secret,id=key --mount=type=secret,id=cert');
    expect(text).toContain('for f in /signed/opt/lib/modules/*/extra/acme_nic.ko; do');
    expect(text).toContain('"$SIGN_FILE" sha256 /run/secrets/key /run/secrets/cert "$f"');
    expect(text.trimEnd().split('\n').pop()).toBe('COPY --from=signer /signed/opt/ /opt/');
    const readme = findFile(set, 'README.md')!.content!;
    const image = `quay.io/acme/acme-nic-kmm-2.3.1:${KVER}`;
    expect(readme).toContain(`-t ${image}-unsigned .`);
    expect(readme).toContain(`--build-arg UNSIGNED_IMAGE=${image}-unsigned --build-arg DTK_IMAGE=${DTK}`);
    expect(readme).toContain(`podman push ${image}\n`);
    expect(readme).not.toContain(`podman push ${image}-unsigned`);
    expect(findFile(render(fullDriver(), RELEASE, { registry: 'quay.io/acme', kmmVersion: '2.6' }), 'Containerfile.sign')).toBeUndefined();
    expect(findFile(render(reference, RELEASE, { day1: true, registry: 'quay.io/acme' }), 'Containerfile.sign')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------
// KMM versions (--kmm-version)
// ---------------------------------------------------------------------------------------

/** The YAML blocks of a README, parsed. */
function yamlBlocks(readme: string): Json[] {
  return [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) => parseYamlStream(m[1]!) as Json[]);
}

describe('kmm --kmm-version', () => {
  const oneInTree = () => fullDriver({ inTreeModulesToRemove: ['acme-nic-old'] });
  const opts = (kmmVersion?: string): RenderOptionsInput => ({ registry: 'quay.io/acme', ...(kmmVersion ? { kmmVersion } : {}) });

  it('defaults to the newest KMM of the release: older OpenShift gets older forms, unknown gets the newest', () => {
    const forRelease = (version?: string) => findFile(render(oneInTree(), { ...RELEASE, version }, opts()), 'README.md')!.content!;
    expect(forRelease('4.14.12')).toContain('rendered for KMM 2.0 (the newest KMM for OpenShift 4.14');
    expect(forRelease('4.20.3')).toContain('rendered for KMM 2.5 (the newest KMM for OpenShift 4.20');
    expect(forRelease('4.21.0')).toContain('rendered for KMM 2.6 (the newest KMM for OpenShift 4.21');
    expect(forRelease(undefined)).toContain('rendered for KMM 2.7 (the newest KMM kmodlab knows');
    // a default is a choice the flag overrides
    expect(findFile(render(oneInTree(), RELEASE, opts('2.4.1')), 'README.md')!.content).toContain('rendered for KMM 2.4 (from `--kmm-version`)');
  });

  it('signs exact paths before 2.6 (KMM copies each entry literally) and globs from 2.6', () => {
    const before = container(render(oneInTree(), RELEASE, opts('2.5'))).kernelMappings[0].sign.filesToSign as string[];
    const from = container(render(oneInTree(), RELEASE, opts('2.6'))).kernelMappings[0].sign.filesToSign as string[];
    expect(from).toEqual(['/opt/lib/modules/*/extra/acme_nic.ko']);
    for (const f of before) expect(f).not.toMatch(/[*?[]/);
    // the literal path KMM <= 2.5 copies is where the Dockerfile puts the module
    const df: string = (objectOf(render(oneInTree(), RELEASE, opts('2.5')), 'ConfigMap') as Json).data.dockerfile;
    expect(df).toContain('/opt/lib/modules/${KERNEL_FULL_VERSION}/');
    expect(before.map((f) => f.replace('${KERNEL_FULL_VERSION}', KVER))).toEqual([`/opt/lib/modules/${KVER}/extra/acme_nic.ko`]);
    const globbed = fullDriver({ inTreeModulesToRemove: [], signing: { keySecret: 'k', certSecret: 'c', filesToSign: ['extra/*.ko'] } });
    expect(userErrorOf(() => render(globbed, RELEASE, opts('2.5'))).message).toMatch(/extra\/\*\.ko" is a glob, which --kmm-version 2\.5 copies literally/);
    expect(container(render(globbed, RELEASE, opts('2.6'))).kernelMappings[0].sign.filesToSign).toEqual(['/opt/lib/modules/*/extra/*.ko']);
  });

  it('sets imageRebuildTriggerGeneration from 2.6 only, and the README says how to force a rebuild either way', () => {
    expect(spec(objectOf(render(oneInTree(), RELEASE, opts('2.5')), 'Module')).imageRebuildTriggerGeneration).toBeUndefined();
    expect(spec(objectOf(render(oneInTree(), RELEASE, opts('2.6')), 'Module')).imageRebuildTriggerGeneration).toBe(1);
    const internal25 = findFile(render(reference, RELEASE, { kmmVersion: '2.5' }), 'README.md')!.content!;
    expect(internal25).toContain('KMM 2.5 has no rebuild trigger');
    expect(internal25).not.toContain('bump `spec.imageRebuildTriggerGeneration`');
    expect(findFile(render(reference, RELEASE, { kmmVersion: '2.6' }), 'README.md')!.content).toContain('bump `spec.imageRebuildTriggerGeneration`');
  });

  it('uses inTreeModuleToRemove on 2.0 and the list from 2.1; several in-tree modules need 2.1', () => {
    const c20 = container(render(oneInTree(), RELEASE, opts('2.0')));
    expect(c20.inTreeModuleToRemove).toBe('acme-nic-old');
    expect(c20.inTreeModulesToRemove).toBeUndefined();
    const c21 = container(render(oneInTree(), RELEASE, opts('2.1')));
    expect(c21.inTreeModulesToRemove).toEqual(['acme-nic-old']);
    expect(c21.inTreeModuleToRemove).toBeUndefined();
    expect(userErrorOf(() => render(fullDriver(), RELEASE, opts('2.0'))).message).toMatch(/^--kmm-version 2\.0: KMM 2\.0 removes one in-tree module .* a list needs KMM 2\.1 or later/);
    // the default for 4.14 is 2.0: the message says it was a default and names the flag
    expect(userErrorOf(() => render(fullDriver(), RELEASE, opts())).message).toMatch(/^KMM 2\.0 \(the default for OpenShift 4\.14; set --kmm-version/);
  });

  it('shows the PreflightValidationOCP fields of the version: releaseImage/useRTKernel up to 2.3, kernelVersion/dtkImage from 2.4', () => {
    const preflight = (v: string) => yamlBlocks(findFile(render(oneInTree(), RELEASE, opts(v)), 'README.md')!.content!).find((o) => o.kind === 'PreflightValidationOCP')!;
    expect(Object.keys(preflight('2.3').spec).sort()).toEqual(['pushBuiltImage', 'releaseImage', 'useRTKernel']);
    expect(preflight('2.3').apiVersion).toBe('kmm.sigs.x-k8s.io/v1beta2');
    expect(preflight('2.0').apiVersion).toBe('kmm.sigs.x-k8s.io/v1beta1');
    expect(Object.keys(preflight('2.4').spec).sort()).toEqual(['dtkImage', 'kernelVersion', 'pushBuiltImage']);
  });

  it('states the minimum KMM version the files need', () => {
    const readme = (v: string, d: DriverSpec = oneInTree()) => findFile(render(d, RELEASE, opts(v)), 'README.md')!.content!;
    expect(readme('2.7')).toContain('**KMM 2.6 or later.**');
    expect(readme('2.5')).toContain('**KMM 2.1 or later.**'); // the in-tree list
    expect(readme('2.5', fullDriver({ inTreeModulesToRemove: [] }))).toContain('**KMM 2.0 or later.**');
    expect(readme('2.0')).toContain('**KMM 2.0 or later.**');
  });

  it('every object of every version validates against the upstream schemas', () => {
    for (const v of KMM_VERSIONS) {
      expectAllValid(render(oneInTree(), RELEASE, opts(v)));
      expectAllValid(render(reference, RELEASE, { day1: true, registry: 'quay.io/acme', kmmVersion: v }));
    }
  });

  it('refuses a version it does not know, naming the flag', () => {
    for (const bad of ['1.1', '3.0', 'latest', '2']) {
      const e = userErrorOf(() => renderMethods(oneInTree(), release(RELEASE), 'kmm', opts(bad)));
      expect(e.message).toMatch(new RegExp(`^--kmm-version ${bad}: expected a KMM release 2\\.0 … 2\\.7`));
    }
    expect(renderMethods(oneInTree(), release(RELEASE), 'kmm', opts('v2.6.0'))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------
// In-tree dependencies: the kmod image's symlink, exercised with the real depmod/modprobe
// ---------------------------------------------------------------------------------------

/**
 * A kernel of this machine with an in-tree module that depends on other in-tree modules
 * (ch7006 → drm_kms_helper, drm): stands in for a driver with in-tree dependencies.
 */
function hostKernelWithDeps(): { kver: string; module: string } | undefined {
  for (const kver of existsSync('/lib/modules') ? readdirSync('/lib/modules') : []) {
    const module = path.join('/lib/modules', kver, 'kernel/drivers/gpu/drm/i2c/ch7006.ko');
    if (existsSync(module) && existsSync(path.join('/lib/modules', kver, 'modules.dep'))) return { kver, module };
  }
  return undefined;
}
const hostDeps = hostKernelWithDeps();

describe.skipIf(!hostDeps || !existsSync('/usr/sbin/depmod'))(`kmm kmod image: in-tree dependencies${hostDeps ? '' : ' (skipped: no kernel with drm/i2c/ch7006.ko under /lib/modules)'}`, () => {
  /** Runs the kmod stage's RUN lines of the rendered Dockerfile (ln, depmod) with /opt moved to `opt`. */
  function kmodStage(dockerfile: string, opt: string, kver: string): void {
    const stage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    // The stage's RUN: kmod (not on this host's terms), then the link and the index.
    const run = stage.slice(stage.lastIndexOf('\nRUN ') + '\nRUN '.length).trim();
    const runs = run.split(' \\\n && ').filter((c) => /^(?:ln|depmod) /.test(c));
    expect(runs.map((c) => c.split(' ')[0])).toEqual(['ln', 'depmod']);
    for (const r of runs) {
      const cmd = r.replaceAll('${KERNEL_FULL_VERSION}', kver).replace(/ \/opt(\/| |$)/g, ` ${opt}$1`);
      execFileSync('sh', ['-c', cmd], { stdio: 'pipe', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    }
  }

  function showDepends(opt: string, kver: string, module: string): string[] {
    const out = execFileSync('/usr/sbin/modprobe', ['-d', opt, '-S', kver, '--show-depends', module], { encoding: 'utf8' });
    return out.trim().split('\n').map((l) => l.trim().replace(`${opt}/lib/modules/${kver}/`, ''));
  }

  it('lets depmod -b /opt and modprobe -d /opt resolve in-tree modules through the node tree, and is harmless without such deps', () => {
    const { kver, module } = hostDeps!;
    const dockerfile: string = (objectOf(render(reference), 'ConfigMap') as Json).data.dockerfile;
    expect(dockerfile).toContain(' && ln -s /lib/modules/${KERNEL_FULL_VERSION} /opt/lib/modules/${KERNEL_FULL_VERSION}/host \\');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-kmm-intree-'));
    try {
      // the image as the Dockerfile lays it out: the driver's module under extra/
      const opt = path.join(dir, 'opt');
      mkdirSync(path.join(opt, 'lib/modules', kver, 'extra'), { recursive: true });
      cpSync(module, path.join(opt, 'lib/modules', kver, 'extra', 'ch7006.ko'));
      kmodStage(dockerfile, opt, kver);
      expect(showDepends(opt, kver, 'ch7006')).toEqual([
        'insmod host/kernel/drivers/gpu/drm/drm.ko',
        'insmod host/kernel/drivers/gpu/drm/drm_kms_helper.ko',
        'insmod extra/ch7006.ko',
      ]);
      // without the link, the in-tree dependencies are not found (what the link fixes)
      rmSync(path.join(opt, 'lib/modules', kver, 'host'));
      execFileSync('/usr/sbin/depmod', ['-b', opt, kver], { stdio: 'pipe' });
      expect(showDepends(opt, kver, 'ch7006')).toEqual(['insmod extra/ch7006.ko']);

      // a module without in-tree dependencies: only itself
      const plain = path.join(dir, 'plain');
      mkdirSync(path.join(plain, 'lib/modules', kver, 'extra'), { recursive: true });
      const dep = readFileSync(path.join('/lib/modules', kver, 'modules.dep'), 'utf8').split('\n').find((l) => /^kernel\/\S+\.ko:$/.test(l))!;
      const file = dep.slice(0, -1);
      cpSync(path.join('/lib/modules', kver, file), path.join(plain, 'lib/modules', kver, 'extra', path.basename(file)));
      kmodStage(dockerfile, plain, kver);
      const name = path.basename(file, '.ko');
      expect(showDepends(plain, kver, name)).toEqual([`insmod extra/${name}.ko`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kmm README documentation links', () => {
  it("link the rendered release's OpenShift version", () => {
    const docs = (readme: string) => [...readme.matchAll(/https:\/\/docs\.redhat\.com\/en\/documentation\/openshift_container_platform\/([0-9.]+)\//g)].map((m) => m[1]);
    const r414 = findFile(render(reference, RELEASE), 'README.md')!.content!;
    expect(docs(r414).length).toBeGreaterThan(0);
    expect(new Set(docs(r414))).toEqual(new Set(['4.14']));
    const r418 = findFile(render(reference, { ...RELEASE, version: '4.18.2' }), 'README.md')!.content!;
    expect(new Set(docs(r418))).toEqual(new Set(['4.18']));
    const unknown = findFile(render(reference, { sources: {} }), 'README.md')!.content!;
    expect(unknown).toContain("put your cluster's version in the link");
  });
});

describe('kmm signing key config and dropped-parameter warning', () => {
  /** The kernel's sign-file from any installed kernel headers (the lab installs them). */
  const signFile = (existsSync('/usr/src') ? readdirSync('/usr/src') : []).map((d) => path.join('/usr/src', d, 'scripts/sign-file')).find((f) => existsSync(f));

  it('renders the x509.conf the README uses; the README command makes a signing certificate from it', () => {
    const set = render(fullDriver(), RELEASE, { registry: 'quay.io/acme', kmmVersion: '2.6' });
    const conf = findFile(set, 'x509.conf')!;
    expect(conf.phase).toBe('build');
    expect(findFile(render(reference), 'x509.conf')).toBeUndefined(); // no signing, no config
    const readme = findFile(set, 'README.md')!.content!;
    // the command as pasted: its backslash-continued lines
    const cmd = readme.replace(/\\\n/g, ' ').split('\n').find((l) => l.startsWith('openssl req '))!;
    expect(cmd).toContain('-config x509.conf');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-kmm-x509-'));
    try {
      writeFileSync(path.join(dir, 'x509.conf'), conf.content!);
      execFileSync('sh', ['-c', cmd], { cwd: dir, stdio: 'pipe' });
      const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', 'signing_key.der', '-noout', '-text'], { cwd: dir, encoding: 'utf8' });
      expect(text).toContain('CN = acme-nic module signing key');
      expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/Key Usage:\s+Digital Signature/);
      if (signFile && hostDeps) {
        // the kernel's sign-file accepts the pair, and the module then names the signer
        cpSync(hostDeps.module, path.join(dir, 'm.ko'));
        execFileSync(signFile, ['sha256', 'signing_key.priv', 'signing_key.der', 'm.ko'], { cwd: dir, stdio: 'pipe' });
        expect(execFileSync('/usr/sbin/modinfo', ['-F', 'signer', path.join(dir, 'm.ko')], { encoding: 'utf8' }).trim()).toBe('acme-nic module signing key');
      }
      expect(conf.content).not.toMatch(/PRIVATE KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a parameter KMM cannot pass in the set warnings, and `render` prints it on stderr', async () => {
    const set = render(reference);
    expect(set.warnings).toEqual([expect.stringMatching(/^kmm: KMM passes modprobe parameters to simple_procfs_kmod only, so simple_kmod's parameters \(greeting=kmodlab\) are not set/)]);
    expect(render(fullDriver(), RELEASE, { registry: 'quay.io/acme', kmmVersion: '2.6' }).warnings).toBeUndefined();
    const { runRender } = await import('../../src/cli/cmds/render.js');
    const out = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-kmm-render-'));
    const stderr: string[] = [];
    try {
      await runRender({ driver: 'drivers/simple-kmod/driver.yaml', method: 'kmm', pool: 'worker', ocpVersion: '4.14.12', kernel: KVER, outputDir: out }, { stdout: () => {}, stderr: (t) => stderr.push(t) });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    expect(stderr.join('')).toMatch(/^warning: kmm: KMM passes modprobe parameters to simple_procfs_kmod only, so simple_kmod's parameters \(greeting=kmodlab\) are not set/m);
  });
});

describe('kmm uses the shared signing, documentation and source-dir helpers', () => {
  it('x509.conf and the Secure Boot steps are the shared ones; KMM still signs in the cluster', async () => {
    const { x509Config, podmanSecretFlags, SIGNING_CERT_FILE, SIGNING_KEY_FILE } = await import('../../src/methods/module-signing.js');
    const driver = fullDriver();
    const set = render(driver, RELEASE, { registry: 'quay.io/acme', kmmVersion: '2.6' });
    expect(findFile(set, 'x509.conf')!.content).toBe(x509Config(driver));
    const readme = findFile(set, 'README.md')!.content!;
    expect(readme).toContain(`-outform DER -out ${SIGNING_CERT_FILE} -keyout ${SIGNING_KEY_FILE}`);
    expect(readme).toContain(`--from-file=cert=${SIGNING_CERT_FILE}`);
    expect(readme).not.toContain('signing_key_pub.der');
    expect(container(set).kernelMappings[0].sign.keySecret).toEqual({ name: 'acme-signing-key' }); // in-cluster signing by the Module
    const day1 = findFile(render(driver, { ...RELEASE, driverToolkitImage: DTK }, { registry: 'quay.io/acme', day1: true, kmmVersion: '2.6' }), 'README.md')!.content!;
    expect(day1).toContain(podmanSecretFlags(SIGNING_KEY_FILE, SIGNING_CERT_FILE).join(' '));
  });

  it("links the OpenShift KMM chapter through ocp-docs, and names the driver's real source directory", async () => {
    const { ocpDocs } = await import('../../src/methods/ocp-docs.js');
    const readme = findFile(render(reference, RELEASE, { sourceDir: '/src/my driver' }), 'README.md')!.content!;
    expect(readme).toContain(ocpDocs(release(RELEASE)).kmm);
    expect(readme).toContain("'/src/my driver'");
    expect(readme).not.toContain('<driver source dir>');
  });

  it('waits with oc wait / until loops instead of watches that block a paste', () => {
    const readme = findFile(render(reference), 'README.md')!.content!;
    const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n');
    expect(shell).not.toMatch(/ -w\b/);
    expect(shell).toMatch(/oc wait .*--for=jsonpath='\{\.status\.phase\}'=Succeeded/);
  });
});
