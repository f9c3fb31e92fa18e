/**
 * The ClusterRoles kmodlab needs, derived from the API_CALLS table (the same table the
 * client checks every request against). Two roles, so least privilege is visible:
 *   - `kmodlab-observe`: read verbs only — all `--observe-only` needs;
 *   - `kmodlab-apply`: the writes (apply/delete the method's objects, probe pods,
 *     canaries, kernel switch, upgrade) — bind it too for a full evaluation.
 */
import { toYamlStream } from '../../yaml.js';
import { LABEL_MANAGED_BY } from '../../labels.js';
import { API_CALLS, isReadOnly, READ_VERBS, type ApiCall, type ApiCallId, type ResourceRule } from './api-calls.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

export interface ClusterRole {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'ClusterRole';
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  rules: PolicyRule[];
}

/** Merges rules with the same group/resourceNames/verbs into one (shorter roles, same meaning). */
function toPolicyRules(rules: ResourceRule[], nonResource: string[]): PolicyRule[] {
  const byKey = new Map<string, PolicyRule>();
  for (const r of rules) {
    const verbs = [...new Set(r.verbs)].sort();
    const key = `${r.group}|${(r.resourceNames ?? []).join(',')}|${verbs.join(',')}`;
    const cur = byKey.get(key);
    if (cur) cur.resources = [...new Set([...(cur.resources ?? []), ...r.resources])].sort();
    else byKey.set(key, { apiGroups: [r.group], resources: [...r.resources].sort(), ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}), verbs });
  }
  const out = [...byKey.values()].sort((a, b) => `${a.apiGroups![0]}${a.resources![0]}`.localeCompare(`${b.apiGroups![0]}${b.resources![0]}`));
  if (nonResource.length > 0) out.push({ nonResourceURLs: [...new Set(nonResource)].sort(), verbs: ['get'] });
  return out;
}

function role(name: string, calls: [ApiCallId, ApiCall][], purpose: string, keep: (r: ResourceRule) => ResourceRule | undefined): ClusterRole {
  const rules = calls.flatMap(([, c]) => (c.rules ?? []).map(keep).filter((r): r is ResourceRule => r !== undefined));
  const nonResource = calls.flatMap(([, c]) => c.nonResourceURLs ?? []);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { [LABEL_MANAGED_BY]: 'kmodlab' },
      annotations: { 'kmodlab.io/purpose': purpose, 'kmodlab.io/calls': calls.map(([id]) => id).join(',') },
    },
    rules: toPolicyRules(rules, nonResource),
  };
}

/** The ClusterRole(s) for a mode: `observeOnly` → read verbs only. */
export function clusterRoles(mode: { observeOnly: boolean }): ClusterRole[] {
  const all = Object.entries(API_CALLS) as [ApiCallId, ApiCall][];
  // Read part of every call (observe calls whole; write calls' read verbs, e.g. get after delete).
  const observeCalls = all.filter(([, c]) => c.observe);
  const observe = role('kmodlab-observe', observeCalls, 'read verbs only: what kmodlab evaluate --observe-only calls', (r) => r);
  if (mode.observeOnly) return [observe];
  const writeCalls = all.filter(([, c]) => !c.observe || !isReadOnly(c));
  const apply = role('kmodlab-apply', writeCalls, 'writes of kmodlab evaluate (apply/delete artifacts, probe pods, canaries, kernel switch, upgrade)', (r) => r);
  return [observe, apply];
}

/** The roles as YAML, with a header saying what each call is for and how to bind. */
export function clusterRolesYaml(mode: { observeOnly: boolean }): string {
  const roles = clusterRoles(mode);
  const ids = new Set(roles.flatMap((r) => r.metadata.annotations['kmodlab.io/calls']!.split(',')));
  const lines = [
    `# ClusterRole(s) for kmodlab evaluate --target cluster${mode.observeOnly ? ' --observe-only (read verbs only)' : ''}.`,
    '# Generated from the table of API calls kmodlab makes (src/targets/cluster/api-calls.ts):',
    ...[...ids].map((id) => `#   ${id}: ${API_CALLS[id as ApiCallId].why}${API_CALLS[id as ApiCallId].observe ? '' : ' [write]'}`),
    '# Bind them to the user or service account that runs kmodlab, e.g.:',
    ...roles.map((r) => `#   oc adm policy add-cluster-role-to-user ${r.metadata.name} <user>`),
    '# Prometheus (thanos-querier) also checks its own access: cluster-monitoring-view grants it.',
    ...(mode.observeOnly ? [] : ['# Creating the Roles/RoleBindings a method renders needs the permissions they grant (RBAC escalation check).']),
  ];
  return `${lines.join('\n')}\n${toYamlStream(roles)}`;
}

export { READ_VERBS };
