/**
 * The write and read semantics of kube-apiserver's generic registry
 * (k8s.io/apiserver pkg/registry/generic/registry/store.go) over the lab's store:
 * create/update/patch/delete, resourceVersion preconditions, no-op writes that do not
 * bump the resourceVersion, `generation`, the status subresource, finalizers and
 * deletionTimestamp, garbage collection by ownerReferences (propagationPolicy
 * Background / Foreground / Orphan), namespace termination, CRDs that become served
 * kinds, `dryRun=All` (everything but the commit), field validation and field ownership.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound, unsupportedMediaType, type Obj } from './status.js';
import { CRD_TYPE, NAMESPACE_TYPE, typeKey, type ResourceRegistry, type ResourceType } from './resources.js';
import type { Store } from './store.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { recordUpdate, serverSideApply } from './managed-fields.js';
import { unknownFields, validateMeta } from './validation.js';
import { gvOf } from './discovery.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation: FieldValidation;
}

export interface WriteResult {
  object: Obj;
  warnings: string[];
  /** 201 for a create. */
  created?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const isBuiltin = (t: ResourceType) => t.crd === undefined;
/** Kinds whose strategy maintains metadata.generation (custom resources, CRDs, workloads); ConfigMaps and the like have none. */
const hasGeneration = (t: ResourceType) => t.crd !== undefined || t.group === 'apps' || t.kind === 'CustomResourceDefinition';
// Ownership changes count as changes; the managedFields timestamps do not.
const sansBookkeeping = (o: Obj) =>
  JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined, managedFields: ((o.metadata.managedFields ?? []) as Obj[]).map(({ time: _t, ...m }) => m) } });
const specOf = (o: Obj) => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'metadata' && k !== 'status')));

export class ObjectService {
  /** Called after a CRD's kinds were added or removed (discovery changes). */
  onTypesChanged: () => void = () => undefined;

  constructor(
    readonly registry: ResourceRegistry,
    readonly store: Store,
  ) {}

  private out(t: ResourceType, o: Obj): Obj {
    o.apiVersion = gvOf(t.group, t.version);
    o.kind = t.kind;
    return o;
  }

  get(t: ResourceType, ns: string | undefined, name: string): Obj {
    const o = this.store.get(typeKey(t), t.namespaced ? ns : undefined, name);
    if (!o) throw notFound(t.resource, t.group, name);
    return this.out(t, o);
  }

  list(t: ResourceType, ns: string | undefined, labelSelector?: string, fieldSelector?: string): Obj {
    const lm = parseLabelSelector(labelSelector);
    const fm = parseFieldSelector(fieldSelector);
    const { items, resourceVersion } = this.store.list(typeKey(t), t.namespaced ? ns : undefined);
    return {
      apiVersion: gvOf(t.group, t.version),
      kind: t.listKind,
      metadata: { resourceVersion },
      items: items.map((o) => this.out(t, o)).filter((o) => lm(o) && fm(o)),
    };
  }

  // ---- shared checks ----

  private checkBody(t: ResourceType, ns: string | undefined, body: unknown): Obj {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`the body must be a ${t.kind} object`);
    const obj = body as Obj;
    if (obj.kind !== undefined && obj.kind !== t.kind) throw badRequest(`the kind of the provided object (${obj.kind}) does not match the resource ${t.resource} (${t.kind})`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== gvOf(t.group, t.version)) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${gvOf(t.group, t.version)})`);
    }
    obj.metadata ??= {};
    if (t.namespaced) {
      if (obj.metadata.namespace !== undefined && ns !== undefined && obj.metadata.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace ??= ns;
    } else delete obj.metadata.namespace;
    return obj;
  }

  private validateFields(t: ResourceType, obj: Obj, mode: FieldValidation): string[] {
    const unknown = unknownFields(t, obj, mode !== 'Strict');
    if (unknown.length === 0 || mode === 'Ignore') return [];
    const msgs = unknown.map((p) => `unknown field "${p.replace(/^\./, '')}"`);
    if (mode === 'Strict') throw badRequest(`strict decoding error: ${msgs.join(', ')}`);
    return msgs;
  }

  /** The NamespaceLifecycle admission plugin: the namespace must exist and not be terminating. */
  private checkNamespace(t: ResourceType, ns: string | undefined, name: string): void {
    if (!t.namespaced) return;
    if (!ns) throw badRequest(`${t.kind} is namespaced: the request needs a namespace`);
    const nsObj = this.store.get(typeKey(NAMESPACE_TYPE), undefined, ns);
    if (!nsObj) throw notFound('namespaces', '', ns);
    if (nsObj.metadata.deletionTimestamp) {
      throw new ApiError(403, 'Forbidden', `${t.resource} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  /** Kind-specific defaults and normalisation on every write (the registry strategies). */
  private normalise(t: ResourceType, obj: Obj, old: Obj | undefined): void {
    if (t.group === '' && t.kind === 'Secret') {
      obj.type ??= 'Opaque';
      if (obj.stringData) {
        obj.data = { ...(obj.data ?? {}) };
        for (const [k, v] of Object.entries(obj.stringData as Record<string, string>)) obj.data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
    }
    if (!old && t.group === '' && t.kind === 'Namespace') {
      obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
      obj.status = { phase: 'Active' };
    }
    if (!old && t.group === '' && t.kind === 'Pod') obj.status = { phase: 'Pending', ...(obj.status ?? {}) };
    if (t.group === 'apps' && t.kind === 'DaemonSet' && obj.spec) {
      // k8s.io/kubernetes pkg/apis/apps/v1/defaults.go SetDefaults_DaemonSet
      const u = (obj.spec.updateStrategy ??= {});
      u.type ??= 'RollingUpdate';
      if (u.type === 'RollingUpdate') u.rollingUpdate = { maxUnavailable: 1, maxSurge: 0, ...(u.rollingUpdate ?? {}) };
      obj.spec.revisionHistoryLimit ??= 10;
    }
    if (t.group === 'apps' && t.kind === 'Deployment' && obj.spec) {
      // pkg/apis/apps/v1/defaults.go SetDefaults_Deployment
      obj.spec.replicas ??= 1;
      const s = (obj.spec.strategy ??= {});
      s.type ??= 'RollingUpdate';
      if (s.type === 'RollingUpdate') s.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...(s.rollingUpdate ?? {}) };
      obj.spec.revisionHistoryLimit ??= 10;
      obj.spec.progressDeadlineSeconds ??= 600;
    }
    if (t.group === 'apps' && t.kind === 'ReplicaSet' && obj.spec) obj.spec.replicas ??= 1; // SetDefaults_ReplicaSet
    if (t === CRD_TYPE || t.kind === 'CustomResourceDefinition') this.checkCrd(obj);
  }

  private checkCrd(crd: Obj): void {
    const s = crd.spec ?? {};
    const causes = [];
    if (!s.group) causes.push({ type: 'FieldValueRequired', message: 'Required value', field: 'spec.group' });
    if (!s.names?.plural || !s.names?.kind) causes.push({ type: 'FieldValueRequired', message: 'Required value', field: 'spec.names' });
    if (s.scope !== 'Namespaced' && s.scope !== 'Cluster') causes.push({ type: 'FieldValueNotSupported', message: 'Unsupported value: supported values: "Cluster", "Namespaced"', field: 'spec.scope' });
    if (!Array.isArray(s.versions) || s.versions.length === 0) causes.push({ type: 'FieldValueRequired', message: 'Required value', field: 'spec.versions' });
    else if (s.versions.filter((v: Obj) => v.storage).length !== 1) causes.push({ type: 'FieldValueInvalid', message: 'must have exactly one version marked as storage version', field: 'spec.versions' });
    if (s.names?.plural && s.group && crd.metadata.name !== `${s.names.plural}.${s.group}`) {
      causes.push({ type: 'FieldValueInvalid', message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group`, field: 'metadata.name' });
    }
    if (causes.length) throw invalid('CustomResourceDefinition', 'apiextensions.k8s.io', crd.metadata.name, causes);
  }

  private manager(opts: WriteOptions, fallback: string): string {
    return opts.fieldManager || fallback;
  }

  // ---- create ----

  create(t: ResourceType, ns: string | undefined, body: unknown, opts: WriteOptions, userAgent = 'unknown', managedFields?: Obj[]): WriteResult {
    const obj = this.checkBody(t, ns, body);
    const warnings = this.validateFields(t, obj, opts.fieldValidation);
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    this.checkNamespace(t, obj.metadata.namespace, String(obj.metadata.name ?? ''));
    validateMeta(t, obj);
    if (this.store.get(typeKey(t), obj.metadata.namespace, obj.metadata.name)) throw alreadyExists(t.resource, t.group, obj.metadata.name);
    if (t.status && t.kind !== 'Node') delete obj.status;
    this.normalise(t, obj, undefined);
    const m = obj.metadata;
    for (const k of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink']) delete m[k];
    m.uid = randomUUID();
    m.creationTimestamp = now();
    if (hasGeneration(t)) m.generation = 1;
    else delete m.generation;
    m.managedFields = managedFields ?? recordUpdate(undefined, obj, { manager: this.manager(opts, userAgent), apiVersion: gvOf(t.group, t.version), builtin: isBuiltin(t), withStatus: !t.status });
    if (m.managedFields.length === 0) delete m.managedFields;
    this.out(t, obj);
    if (opts.dryRun) return { object: obj, warnings, created: true };
    const stored = this.store.commit(typeKey(t), 'ADDED', obj);
    this.afterWrite(t, stored);
    return { object: this.out(t, stored), warnings, created: true };
  }

  // ---- update (PUT, and the end of every patch) ----

  update(t: ResourceType, ns: string | undefined, name: string, body: unknown, opts: WriteOptions, subresource: string | undefined, userAgent = 'unknown'): WriteResult {
    const obj = this.checkBody(t, ns, body);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    obj.metadata.name = name;
    const warnings = this.validateFields(t, obj, opts.fieldValidation);
    const old = this.get(t, ns, name);
    return this.commitUpdate(t, old, obj, opts, subresource, warnings, (next) =>
      recordUpdate(old, next, { manager: this.manager(opts, userAgent), apiVersion: gvOf(t.group, t.version), builtin: isBuiltin(t), withStatus: !t.status || subresource === 'status', subresource }),
    );
  }

  private commitUpdate(t: ResourceType, old: Obj, obj: Obj, opts: WriteOptions, subresource: string | undefined, warnings: string[], managed: (next: Obj) => Obj[]): WriteResult {
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) {
      throw conflict(t.resource, t.group, old.metadata.name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    let next: Obj;
    if (subresource === 'status') {
      next = { ...structuredClone(old), status: obj.status };
      if (next.status === undefined) delete next.status;
    } else {
      next = obj;
      if (t.status) {
        if (old.status === undefined) delete next.status;
        else next.status = structuredClone(old.status);
      }
    }
    validateMeta(t, next);
    // Identity and bookkeeping are the server's.
    for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'generation']) {
      if (old.metadata[k] === undefined) delete next.metadata[k];
      else next.metadata[k] = old.metadata[k];
    }
    if (old.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f: string) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length) throw invalid(t.kind, t.group, old.metadata.name, [{ type: 'FieldValueForbidden', message: 'Forbidden: no new finalizers can be added if the object is being deleted', field: 'metadata.finalizers' }]);
    }
    this.normalise(t, next, old);
    if (hasGeneration(t) && specOf(next) !== specOf(old)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    next.metadata.managedFields = managed(next);
    if (next.metadata.managedFields.length === 0) delete next.metadata.managedFields;
    this.out(t, next);
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (sansBookkeeping(next) === sansBookkeeping(old)) return { object: old, warnings }; // a no-op write keeps its resourceVersion
    if (opts.dryRun) return { object: next, warnings };
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      return { object: this.out(t, this.remove(t, next)), warnings };
    }
    const stored = this.store.commit(typeKey(t), 'MODIFIED', next);
    this.afterWrite(t, stored);
    return { object: this.out(t, stored), warnings };
  }

  // ---- patch ----

  patch(t: ResourceType, ns: string | undefined, name: string, type: PatchType, raw: string, opts: WriteOptions & { force: boolean }, subresource: string | undefined, userAgent = 'unknown'): WriteResult {
    if (type === 'apply') return this.apply(t, ns, name, raw, opts, subresource);
    if (type === 'strategic' && !isBuiltin(t)) {
      throw unsupportedMediaType('the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (e) {
      throw badRequest(`the patch is not valid JSON: ${(e as Error).message}`);
    }
    const old = this.get(t, ns, name);
    const patched = (type === 'json' ? jsonPatch(old, body) : type === 'merge' ? mergePatch(old, body) : strategicMergePatch(old, body)) as Obj;
    // A patch may carry a resourceVersion precondition; without one it applies to the current version.
    if (patched.metadata?.resourceVersion === old.metadata.resourceVersion) delete patched.metadata.resourceVersion;
    if (patched.metadata) delete patched.metadata.managedFields;
    return this.update(t, ns, name, patched, opts, subresource, userAgent);
  }

  private apply(t: ResourceType, ns: string | undefined, name: string, raw: string, opts: WriteOptions & { force: boolean }, subresource: string | undefined): WriteResult {
    if (!opts.fieldManager) throw badRequest('PATCH with application/apply-patch+yaml: fieldManager is required for apply requests');
    let applied: Obj;
    try {
      applied = parseYaml(raw) as Obj;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!applied || typeof applied !== 'object') throw badRequest('the apply body must be an object');
    if (!applied.apiVersion || !applied.kind) throw badRequest('apiVersion and kind must be set in an apply configuration');
    applied = this.checkBody(t, ns, applied);
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
    applied.metadata.name = name;
    const warnings = this.validateFields(t, applied, opts.fieldValidation);
    for (const k of ['resourceVersion', 'managedFields', 'uid', 'creationTimestamp', 'generation']) delete applied.metadata[k];
    const withStatus = !t.status || subresource === 'status';
    if (t.status && subresource !== 'status') delete applied.status;
    if (subresource === 'status') for (const k of Object.keys(applied)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete applied[k];
    const live = this.store.get(typeKey(t), t.namespaced ? applied.metadata.namespace : undefined, name);
    const ctx = { manager: opts.fieldManager, apiVersion: gvOf(t.group, t.version), builtin: isBuiltin(t), withStatus, subresource };
    if (!live) {
      if (subresource) throw notFound(t.resource, t.group, name);
      const { object, managedFields } = serverSideApply(undefined, applied, ctx, opts.force);
      const r = this.create(t, ns, object, { ...opts, fieldValidation: 'Ignore' }, opts.fieldManager, managedFields);
      r.warnings.unshift(...warnings);
      return r;
    }
    const { object, managedFields } = serverSideApply(live, applied, ctx, opts.force);
    delete object.metadata.resourceVersion;
    return this.commitUpdate(t, this.out(t, live), object, opts, subresource, warnings, () => managedFields);
  }

  // ---- delete ----

  delete(t: ResourceType, ns: string | undefined, name: string, dopts: DeleteOptions): Obj {
    const old = this.get(t, ns, name);
    const pre = dopts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) throw conflict(t.resource, t.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(t.resource, t.group, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    }
    if (old.metadata.deletionTimestamp) return old; // already being deleted
    const policy = dopts.propagationPolicy ?? 'Background';
    const finalizers: string[] = [...(old.metadata.finalizers ?? [])];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !dopts.dryRun) this.orphan(old.metadata.uid);
    const isNamespace = t === NAMESPACE_TYPE;
    if (finalizers.length === 0 && !isNamespace) {
      if (dopts.dryRun) return old;
      return this.out(t, this.remove(t, old));
    }
    const marked = structuredClone(old);
    marked.metadata.deletionTimestamp = now();
    marked.metadata.deletionGracePeriodSeconds = 0;
    marked.metadata.finalizers = finalizers;
    if (marked.metadata.finalizers.length === 0) delete marked.metadata.finalizers;
    if (isNamespace) marked.status = { ...(marked.status ?? {}), phase: 'Terminating' };
    if (dopts.dryRun) return marked;
    const stored = this.store.commit(typeKey(t), 'MODIFIED', marked);
    if (policy === 'Foreground') {
      this.collectDependents(old.metadata.uid);
      this.finishForeground(old.metadata.uid);
    }
    if (isNamespace) this.drainNamespace(name);
    return this.out(t, this.store.get(typeKey(t), undefined, stored.metadata.name) ?? stored);
  }

  /** Removes an object for good, then lets its dependents, owners and namespace react. */
  private remove(t: ResourceType, obj: Obj): Obj {
    const gone = this.store.commit(typeKey(t), 'DELETED', obj);
    if (t.kind === 'CustomResourceDefinition' && t.group === 'apiextensions.k8s.io') this.uninstallCrd(obj);
    this.collectDependents(obj.metadata.uid);
    for (const ref of (obj.metadata.ownerReferences ?? []) as Obj[]) this.finishForeground(ref.uid);
    if (t.namespaced) this.finishNamespace(obj.metadata.namespace);
    return gone;
  }

  private *everything(): Generator<{ t: ResourceType; o: Obj }> {
    const seen = new Set<string>();
    for (const t of this.registry.all()) {
      if (seen.has(typeKey(t))) continue;
      seen.add(typeKey(t));
      for (const o of this.store.list(typeKey(t)).items) yield { t, o };
    }
  }

  private dependents(uid: string): { t: ResourceType; o: Obj }[] {
    return [...this.everything()].filter(({ o }) => (o.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === uid));
  }

  /** The garbage collector's background deletion of dependents whose owner is gone or going. */
  private collectDependents(uid: string): void {
    for (const { t, o } of this.dependents(uid)) {
      try {
        this.delete(t, o.metadata.namespace, o.metadata.name, { propagationPolicy: 'Background' });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
  }

  private orphan(uid: string): void {
    for (const { t, o } of this.dependents(uid)) {
      o.metadata.ownerReferences = o.metadata.ownerReferences.filter((r: Obj) => r.uid !== uid);
      if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
      this.store.commit(typeKey(t), 'MODIFIED', o);
    }
  }

  /** Foreground deletion ends when no dependent is left: the GC drops `foregroundDeletion`. */
  private finishForeground(ownerUid: string): void {
    for (const { t, o } of this.everything()) {
      if (o.metadata.uid !== ownerUid || !o.metadata.deletionTimestamp || !(o.metadata.finalizers ?? []).includes('foregroundDeletion')) continue;
      if (this.dependents(ownerUid).length > 0) return;
      o.metadata.finalizers = o.metadata.finalizers.filter((f: string) => f !== 'foregroundDeletion');
      if (o.metadata.finalizers.length === 0) this.remove(t, o);
      else this.store.commit(typeKey(t), 'MODIFIED', o);
      return;
    }
  }

  /** The namespace controller: delete all content, then the namespace itself. */
  private drainNamespace(ns: string): void {
    for (const { t, o } of [...this.everything()]) {
      if (!t.namespaced || o.metadata.namespace !== ns) continue;
      try {
        this.delete(t, ns, o.metadata.name, { propagationPolicy: 'Background' });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    this.finishNamespace(ns);
  }

  private finishNamespace(ns: string | undefined): void {
    if (!ns) return;
    const nsObj = this.store.get(typeKey(NAMESPACE_TYPE), undefined, ns);
    if (!nsObj?.metadata.deletionTimestamp) return;
    for (const { t, o } of this.everything()) if (t.namespaced && o.metadata.namespace === ns) return;
    if ((nsObj.metadata.finalizers ?? []).length > 0) return;
    this.remove(NAMESPACE_TYPE, nsObj);
  }

  // ---- CRDs ----

  private afterWrite(t: ResourceType, stored: Obj): void {
    if (t.kind === 'CustomResourceDefinition' && t.group === 'apiextensions.k8s.io' && !stored.metadata.deletionTimestamp) this.establishCrd(stored);
  }

  /** What apiextensions-apiserver's naming and establishing controllers do. */
  private establishCrd(crd: Obj): void {
    this.registry.addCrd(crd);
    this.onTypesChanged();
    const t = this.store.get(typeKey(CRD_TYPE), undefined, crd.metadata.name);
    if (!t) return;
    const at = now();
    const cond = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: at, reason, message });
    const status = {
      acceptedNames: crd.spec.names,
      storedVersions: (crd.spec.versions as Obj[]).filter((v) => v.storage).map((v) => v.name),
      conditions: [cond('NamesAccepted', 'NoConflicts', 'no conflicts found'), cond('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
    };
    const known = JSON.stringify((t.status?.conditions ?? []).map((c: Obj) => [c.type, c.status]));
    if (known === JSON.stringify(status.conditions.map((c) => [c.type, c.status])) && JSON.stringify(t.status?.acceptedNames) === JSON.stringify(crd.spec.names)) return;
    t.status = status;
    this.store.commit(typeKey(CRD_TYPE), 'MODIFIED', t);
  }

  private uninstallCrd(crd: Obj): void {
    const types = this.registry.removeCrd(crd.metadata.name);
    const first = types[0];
    if (first) {
      for (const o of this.store.list(typeKey(first)).items) this.store.commit(typeKey(first), 'DELETED', o);
      this.store.dropType(typeKey(first));
    }
    this.onTypesChanged();
  }

  /** Creates objects at start-up (namespaces, CRDs) as the system would. */
  bootstrap(t: ResourceType, obj: Obj): void {
    if (this.store.get(typeKey(t), obj.metadata.namespace, obj.metadata.name)) return;
    this.create(t, obj.metadata.namespace, structuredClone(obj), { dryRun: false, fieldValidation: 'Strict', fieldManager: 'kmodlab-lab-bootstrap' });
  }
}
