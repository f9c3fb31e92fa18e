import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { allMethods } from '../../src/methods/index.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver } from '../../src/driver/load.js';
import { ReleaseSchema } from '../../src/release/release.js';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { API_CALLS, ARTIFACT_RESOURCES, isReadOnly, READ_VERBS, rulesAllow, type ApiCall } from '../../src/targets/cluster/api-calls.js';
import { clusterRoles, clusterRolesYaml } from '../../src/targets/cluster/rbac.js';
import { main } from '../../src/cli/main.js';
import { parseYamlStream } from '../../src/yaml.js';
import { FAKE_RESOURCES } from './fake-kube-apiserver.js';

const DTK_IMAGE = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'3'.repeat(64)}`;
const RHCOS_IMAGE = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'4'.repeat(64)}`;

describe('the API_CALLS table and the roles made from it', () => {
  let driver: DriverSpec;
  beforeAll(async () => {
    driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  });

  it('every kind any method/variant renders for Day 2 can be applied and deleted under the role', () => {
    const release = ReleaseSchema.parse({ version: '4.19.1', kernelVersion: '5.14.0-570.12.1.el9_6.x86_64', driverToolkitImage: DTK_IMAGE, rhcosImage: RHCOS_IMAGE, sources: {} });
    const kinds = new Set<string>();
    let rendered = 0;
    for (const m of allMethods()) {
      for (const variant of m.variants) {
        // Some variants need a registry, others refuse one: take whichever renders.
        let set;
        try {
          [set] = renderMethods(driver, release, m.id, { variant, registry: 'quay.io/acme' });
        } catch {
          [set] = renderMethods(driver, release, m.id, { variant });
        }
        rendered++;
        for (const o of allObjects(set!, 'day2')) kinds.add(`${o.apiVersion} ${o.kind}`);
      }
    }
    expect(rendered).toBeGreaterThanOrEqual(3);
    const rules = clusterRoles({ observeOnly: false }).flatMap((r) => r.rules);
    for (const k of kinds) {
      const [apiVersion, kind] = k.split(' ') as [string, string];
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
      // The resource name is what discovery answers (the fake serves the real plural names).
      const res = FAKE_RESOURCES.find((r) => r.group === group && r.kind === kind);
      expect(res, `the fake API server does not know ${k}`).toBeDefined();
      for (const verb of ['get', 'create', 'patch', 'delete']) {
        expect(rulesAllow(ARTIFACT_RESOURCES, verb, group, res!.resource, 'x'), `${verb} ${k}`).toBe(true);
        expect(rules.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(res!.resource) && r.verbs.includes(verb) && !r.resourceNames), `${verb} ${k} in the printed role`).toBe(true);
      }
    }
  });

  it('entries marked observe use read verbs only; the observe role is read-only', () => {
    for (const [id, call] of Object.entries(API_CALLS) as [string, ApiCall][]) {
      if (call.observe) expect(isReadOnly(call), id).toBe(true);
    }
    const [observe] = clusterRoles({ observeOnly: true });
    expect(clusterRoles({ observeOnly: true })).toHaveLength(1);
    for (const r of observe!.rules) for (const v of r.verbs) expect(READ_VERBS).toContain(v);
  });

  it('the full mode adds a separate write role; both carry which calls they serve', () => {
    const roles = clusterRoles({ observeOnly: false });
    expect(roles.map((r) => r.metadata.name)).toEqual(['kmodlab-observe', 'kmodlab-apply']);
    expect(roles[1]!.metadata.annotations['kmodlab.io/calls']).toContain('apply-artifacts');
    expect(roles[1]!.rules.some((r) => r.resources?.includes('securitycontextconstraints') && r.resourceNames?.includes('privileged') && r.verbs.includes('use'))).toBe(true);
  });

  it('`kmodlab rbac [--observe-only]` prints parseable YAML with a commented header on stdout', async () => {
    for (const args of [[], ['--observe-only']]) {
      let out = '';
      let err = '';
      const code = await main(['node', 'kmodlab', 'rbac', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
      expect(code).toBe(0);
      expect(err).toBe('');
      expect(out).toBe(clusterRolesYaml({ observeOnly: args.length > 0 }));
      expect(out.startsWith('# ClusterRole(s)')).toBe(true);
      const docs = parseYamlStream(out) as { kind: string }[];
      expect(docs.map((d) => d.kind)).toEqual(args.length > 0 ? ['ClusterRole'] : ['ClusterRole', 'ClusterRole']);
    }
  });
});
