/**
 * `--dry-run=server` for a set that creates its own namespace. The API server's
 * NamespaceLifecycle admission plugin refuses any object in a namespace that does not
 * exist with 404 `namespaces "<ns>" not found` (kubernetes plugin/pkg/admission/namespace/lifecycle),
 * and a dry-run create of the Namespace persists nothing — so every object inside it
 * would fail. kmodlab instead sends those objects, still with dryRun=All, into an
 * existing namespace (the kubeconfig context's, else `default`): the server still
 * validates them (schema, strict field validation, admission); only their namespace
 * differs. When no such namespace exists the object is reported as "would create",
 * not validated.
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import type { ApiCallId } from './api-calls.js';
import type { KubeClient } from './client.js';

export interface DryRunNamespaces {
  /** Namespace the set creates → existing namespace its objects are validated in (undefined: none). */
  substitutes: Map<string, string | undefined>;
  /** The object as it is sent (namespace substituted), or undefined when it cannot be validated. */
  placed(obj: K8sObject): K8sObject | undefined;
}

export async function dryRunNamespaces(client: KubeClient, call: ApiCallId, objects: K8sObject[]): Promise<DryRunNamespaces> {
  const substitutes = new Map<string, string | undefined>();
  if (client.dryRun) {
    const nsRef = await client.mapping('v1', 'Namespace');
    const exists = async (name: string) => (await client.get(call, nsRef, name)) !== undefined;
    let fallback: string | undefined | null = null;
    for (const o of objects) {
      if (o.kind !== 'Namespace' || (await exists(o.metadata.name))) continue;
      if (fallback === null) {
        fallback = undefined;
        for (const candidate of [...new Set([client.defaultNamespace, 'default'])]) {
          if (candidate && (await exists(candidate))) {
            fallback = candidate;
            break;
          }
        }
      }
      substitutes.set(o.metadata.name, fallback);
    }
  }
  return {
    substitutes,
    placed(obj) {
      const ns = obj.metadata.namespace;
      if (obj.kind === 'Namespace' || ns === undefined || !substitutes.has(ns)) return obj;
      const to = substitutes.get(ns);
      return to === undefined ? undefined : { ...obj, metadata: { ...obj.metadata, namespace: to } };
    },
  };
}
