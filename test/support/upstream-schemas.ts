/**
 * Test oracle: checks a rendered Kubernetes object against the *upstream* API schemas
 * (CRDs and OpenAPI documents kept in ../shared/schemas, plus the `kubernetes-models`
 * package for built-in kinds), the way `kubectl apply --validate=strict` would:
 * unknown fields are errors, types/formats/enums/required fields are enforced, and
 * metadata gets the apiserver's name/label/annotation syntax checks.
 *
 * The schemas are data owned by upstream projects: they are read at run time and never
 * copied into this project, so a renderer cannot "agree with itself".
 *
 * Known limits (deliberate): CEL rules (`x-kubernetes-validations`) are not evaluated,
 * and Ignition content under MachineConfig `spec.config` is opaque
 * (`x-kubernetes-preserve-unknown-fields`). Explicit `null` is rejected unless the schema
 * says `nullable: true` (the apiserver would silently drop it; a renderer should not emit it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type AnySchemaObject, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export interface SchemaIssue {
  path: string;
  message: string;
}

/** Validates one object; returns [] when valid. Throws if no schema is known for its apiVersion/kind. */
export function validateK8sObject(obj: unknown): SchemaIssue[] {
  const object = wireForm(obj);
  const { apiVersion, kind } = typeMetaOf(object);
  const validateBody = bodyValidatorFor(apiVersion, kind);
  if (!validateBody) {
    const served = servedVersionsOf(kind);
    throw new Error(
      `no upstream schema known for apiVersion "${apiVersion}" kind "${kind}" ` +
        `(looked in ${schemasDir()} and kubernetes-models${served.length ? `; ${kind} is known as ${served.join(', ')}` : ''})`,
    );
  }
  return dedupeIssues([
    // metadata is checked once, by the ObjectMeta rules below; CRD schemas only say `type: object`.
    ...validateBody({ ...object, metadata: {} }),
    ...validateObjectMeta(object.metadata, apiVersion, kind),
    ...validatePodTemplate(object),
  ]);
}

/** True when a schema is available for this apiVersion/kind. */
export function hasSchemaFor(apiVersion: string, kind: string): boolean {
  return registry().sources.has(gvkKey(apiVersion, kind)) || kubernetesModelsClass(apiVersion, kind) !== undefined;
}

/** Convenience for tests: throws an Error listing every issue (with kind/name) when invalid. */
export function assertValidK8sObject(obj: unknown): void {
  const issues = validateK8sObject(obj);
  if (issues.length === 0) return;
  const object = wireForm(obj);
  const { apiVersion, kind } = typeMetaOf(object);
  const meta = object.metadata;
  const name = isRecord(meta) ? [meta.namespace, meta.name].filter((s) => typeof s === 'string').join('/') : '';
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`);
  throw new Error(
    `${kind} "${name || '<unnamed>'}" (${apiVersion}) violates the upstream schema:\n${lines.join('\n')}`,
  );
}

// ---------------------------------------------------------------------------
// Small helpers and types
// ---------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;
type SchemaNode = Record<string, unknown>;
/** Validates an object whose metadata has been replaced by `{}`. */
type BodyValidator = (body: JsonObject) => SchemaIssue[];

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function gvkKey(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}

/**
 * Validate what would actually be sent: keys holding `undefined` disappear and class
 * instances (e.g. kubernetes-models objects) become plain data, as in the rendered YAML.
 */
function wireForm(obj: unknown): JsonObject {
  const plain: unknown = obj === undefined ? undefined : JSON.parse(JSON.stringify(obj));
  if (!isRecord(plain)) throw new TypeError('expected a Kubernetes object (a plain object)');
  return plain;
}

function servedVersionsOf(kind: string): string[] {
  return [...registry().sources.keys()].filter((key) => key.endsWith(`|${kind}`)).map((key) => key.split('|')[0]!);
}

function typeMetaOf(obj: unknown): { apiVersion: string; kind: string } {
  if (!isRecord(obj)) throw new TypeError('expected a Kubernetes object (a plain object)');
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || apiVersion === '' || typeof kind !== 'string' || kind === '') {
    throw new TypeError('a Kubernetes object needs string apiVersion and kind to pick its schema');
  }
  return { apiVersion, kind };
}

function dedupeIssues(issues: readonly SchemaIssue[]): SchemaIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------
// Where the schemas live
// ---------------------------------------------------------------------------

/** test/support/ -> project root; CI clones the repo next to shared/, so never hard-code /work. */
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function schemasDir(): string {
  return process.env.KMODLAB_SHARED_SCHEMAS || path.resolve(PROJECT_ROOT, '..', 'shared', 'schemas');
}

function schemaFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`upstream schema directory not found: ${dir} (set KMODLAB_SHARED_SCHEMAS to override)`);
  }
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

// ---------------------------------------------------------------------------
// The shared ajv instance
// ---------------------------------------------------------------------------

let sharedAjv: Ajv | undefined;

/**
 * One ajv for everything, so OpenAPI documents are added once and compiled validators
 * share referenced definitions. `strict: false` because Kubernetes schemas are full of
 * `x-kubernetes-*` keywords ajv does not know.
 */
function ajv(): Ajv {
  if (sharedAjv) return sharedAjv;
  const instance = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS; under NodeNext its default import is the module object.
  ajvFormats.default(instance); // int32, int64, byte, date-time, ...
  instance.addKeyword({ keyword: 'x-kubernetes-list-type', type: 'array', errors: true, validate: checkListType });
  sharedAjv = instance;
  return instance;
}

/** Formats the schemas use but ajv does not know are ignored, as the apiserver does. */
function ignoreUnknownFormats(formats: Iterable<string>): void {
  const instance = ajv();
  for (const format of formats) {
    if (!instance.formats[format]) instance.addFormat(format, true);
  }
}

/**
 * CRD list semantics the apiserver enforces: `set` items are unique, `map` items are
 * unique by their `x-kubernetes-list-map-keys` (a missing key counts as its default).
 */
const checkListType: SchemaValidateFunction = (listType: unknown, data: unknown, parentSchema, cxt) => {
  if (!Array.isArray(data) || (listType !== 'set' && listType !== 'map')) return true;
  const keyOf = listType === 'set' ? (item: unknown) => JSON.stringify(item) : listMapKeyFunction(parentSchema);
  const seen = new Set<string>();
  const errors: Partial<ErrorObject>[] = [];
  data.forEach((item, index) => {
    const key = keyOf(item);
    if (seen.has(key)) {
      errors.push({
        keyword: 'x-kubernetes-list-type',
        instancePath: `${cxt?.instancePath ?? ''}/${index}`,
        params: { listType },
        message: `duplicate entry ${key} in a list of type "${listType}"`,
      });
    }
    seen.add(key);
  });
  checkListType.errors = errors;
  return errors.length === 0;
};

function listMapKeyFunction(parentSchema: AnySchemaObject | undefined): (item: unknown) => string {
  const keys = (parentSchema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
  const itemProps = ((parentSchema?.items as SchemaNode | undefined)?.properties ?? {}) as Record<string, SchemaNode>;
  return (item) => {
    const values = keys.map((k) => (isRecord(item) && item[k] !== undefined ? item[k] : itemProps[k]?.default));
    return JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, values[i]])));
  };
}

// ---------------------------------------------------------------------------
// Making upstream schemas strict
// ---------------------------------------------------------------------------

type Family = 'crd' | 'openapi';

/** Keywords whose value is a schema, a list of schemas, or a map of schemas. */
const SUBSCHEMA_MAPS = new Set(['properties', 'definitions', 'patternProperties']);
const SUBSCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf']);
const SUBSCHEMAS = new Set(['items', 'additionalProperties', 'not']);

const INT_OR_STRING = [{ type: 'integer' }, { type: 'string' }];

/**
 * Returns a strict copy of an upstream schema:
 * - an object schema with `properties` and no `additionalProperties` rejects unknown
 *   fields, unless it says `x-kubernetes-preserve-unknown-fields: true`;
 * - in CRDs, a bare `type: object` also rejects everything (the apiserver prunes it all);
 *   in OpenAPI documents a bare object is an opaque Go type (FieldsV1, RawExtension);
 * - int-or-string in either spelling becomes `anyOf: [integer, string]`;
 * - list-type uniqueness is only enforced for CRDs (built-ins merely warn, e.g. duplicate env).
 * Every `format` seen is collected so unknown ones can be ignored.
 */
function strictSchema(node: unknown, family: Family, formats: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((n) => strictSchema(n, family, formats));
  if (!isRecord(node)) return node;
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) out[key] = strictChild(key, value, family, formats);
  normaliseIntOrString(out);
  if (typeof out.format === 'string') formats.add(out.format);
  if (family === 'openapi') delete out['x-kubernetes-list-type'];
  allowEmbeddedTypeMeta(out);
  if (shouldClose(out, family)) out.additionalProperties = false;
  return out;
}

function strictChild(key: string, value: unknown, family: Family, formats: Set<string>): unknown {
  if (SUBSCHEMAS.has(key) || SUBSCHEMA_LISTS.has(key)) return strictSchema(value, family, formats);
  if (SUBSCHEMA_MAPS.has(key) && isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strictSchema(v, family, formats)]));
  }
  return value; // description, default, enum, x-kubernetes-validations, ...: data, not schemas
}

function normaliseIntOrString(node: SchemaNode): void {
  // OpenAPI v2 writes IntOrString as `type: string, format: int-or-string`, which would reject 1.
  if (node.format === 'int-or-string') {
    delete node.type;
    delete node.format;
    node.anyOf = INT_OR_STRING;
  }
  if (node['x-kubernetes-int-or-string'] === true && node.anyOf === undefined && node.type === undefined) {
    node.anyOf = INT_OR_STRING;
  }
}

/** An embedded resource (`x-kubernetes-embedded-resource`) implicitly has apiVersion, kind and metadata. */
function allowEmbeddedTypeMeta(node: SchemaNode): void {
  if (node['x-kubernetes-embedded-resource'] !== true) return;
  node.properties = {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    ...(node.properties as SchemaNode),
  };
}

function shouldClose(node: SchemaNode, family: Family): boolean {
  if (node.type !== 'object') return false; // anyOf branches etc. only add value checks
  if (node.additionalProperties !== undefined) return false; // a map, or explicitly open
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return false;
  return node.properties !== undefined || family === 'crd';
}

/**
 * Go types whose JSON decoding accepts more than their OpenAPI v2 `type` says.
 * resource.Quantity is declared `type: string`, but `cpu: 1` decodes fine; the string
 * form must parse as a quantity (same grammar the CRDs spell out as a pattern).
 */
const LENIENT_DEFINITIONS: Record<string, SchemaNode> = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': {
    anyOf: [
      { type: 'number' },
      {
        type: 'string',
        pattern:
          '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
      },
    ],
  },
};

// ---------------------------------------------------------------------------
// Registry of upstream schemas, keyed by apiVersion|kind
// ---------------------------------------------------------------------------

type SchemaSource =
  | { family: 'crd'; file: string; schema: SchemaNode }
  | { family: 'openapi'; file: string; docId: string; definition: string };

interface Registry {
  sources: Map<string, SchemaSource>;
  /** OpenAPI documents by ajv $id, raw (made strict when first added to ajv). */
  openApiDocs: Map<string, SchemaNode>;
}

let loadedRegistry: Registry | undefined;

function registry(): Registry {
  loadedRegistry ??= loadRegistry(schemasDir());
  return loadedRegistry;
}

function loadRegistry(dir: string): Registry {
  const reg: Registry = { sources: new Map(), openApiDocs: new Map() };
  for (const file of schemaFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.json')) registerOpenApiDocument(reg, file, JSON.parse(text) as unknown);
    else for (const doc of parseAllDocuments(text)) registerCrd(reg, file, doc.toJS() as unknown);
  }
  return reg;
}

/** Each served CRD version is one apiVersion; its schema is `schema.openAPIV3Schema`. */
function registerCrd(reg: Registry, file: string, crd: unknown): void {
  if (!isRecord(crd) || crd.kind !== 'CustomResourceDefinition' || !isRecord(crd.spec)) return;
  const { group, names, versions } = crd.spec;
  if (typeof group !== 'string' || !isRecord(names) || typeof names.kind !== 'string' || !Array.isArray(versions)) return;
  for (const version of versions) {
    if (!isRecord(version) || version.served === false || typeof version.name !== 'string') continue;
    const schema = isRecord(version.schema) ? version.schema.openAPIV3Schema : undefined;
    if (!isRecord(schema)) continue;
    reg.sources.set(gvkKey(`${group}/${version.name}`, names.kind), { family: 'crd', file, schema });
  }
}

/** Swagger 2.0 documents: every top-level resource definition becomes a source. */
function registerOpenApiDocument(reg: Registry, file: string, doc: unknown): void {
  if (!isRecord(doc) || !isRecord(doc.definitions)) return;
  // The index keeps ids unique if two directories hold files with the same name.
  const docId = `kmodlab-upstream:${reg.openApiDocs.size}-${path.basename(file)}`;
  reg.openApiDocs.set(docId, doc.definitions);
  for (const [definition, schema] of Object.entries(doc.definitions)) {
    if (!isResourceDefinition(schema)) continue;
    for (const gvk of groupVersionKinds(definition, schema)) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      reg.sources.set(gvkKey(apiVersion, gvk.kind), { family: 'openapi', file, docId, definition });
    }
  }
}

/** A resource (not a nested type, not a List) has apiVersion, kind and ObjectMeta metadata. */
function isResourceDefinition(schema: unknown): schema is SchemaNode {
  if (!isRecord(schema) || !isRecord(schema.properties)) return false;
  const { apiVersion, kind, metadata } = schema.properties;
  return (
    apiVersion !== undefined &&
    kind !== undefined &&
    isRecord(metadata) &&
    typeof metadata.$ref === 'string' &&
    metadata.$ref.endsWith('.meta.v1.ObjectMeta')
  );
}

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/**
 * Prefer `x-kubernetes-group-version-kind`; the shipped subsets do not carry it, so
 * fall back to the definition name (io.k8s.api.<pkg>.<version>.<Kind>,
 * com.github.openshift.api.<pkg>.<version>.<Kind>).
 */
function groupVersionKinds(definition: string, schema: SchemaNode): GroupVersionKind[] {
  const declared = schema['x-kubernetes-group-version-kind'];
  if (Array.isArray(declared)) return declared.filter(isRecord) as unknown as GroupVersionKind[];
  const m = /^(io\.k8s\.api|com\.github\.openshift\.api)\.([a-z0-9]+)\.(v\d+(?:(?:alpha|beta)\d+)?)\.([A-Z]\w*)$/.exec(definition);
  if (!m) return [];
  const [, prefix, pkg, version, kind] = m as unknown as [string, string, string, string, string];
  return [{ group: apiGroupOf(prefix, pkg), version, kind }];
}

/** Go package name -> API group, for the naming conventions of the two upstreams. */
function apiGroupOf(prefix: string, pkg: string): string {
  if (prefix === 'com.github.openshift.api') return `${pkg}.openshift.io`;
  const special: Record<string, string> = {
    core: '',
    rbac: 'rbac.authorization.k8s.io',
    flowcontrol: 'flowcontrol.apiserver.k8s.io',
  };
  if (pkg in special) return special[pkg]!;
  // The pre-"k8s.io suffix" groups keep their bare name.
  return ['apps', 'batch', 'autoscaling', 'policy', 'extensions'].includes(pkg) ? pkg : `${pkg}.k8s.io`;
}

// ---------------------------------------------------------------------------
// Compiling validators (lazily, cached per apiVersion|kind)
// ---------------------------------------------------------------------------

const bodyValidators = new Map<string, BodyValidator>();

function bodyValidatorFor(apiVersion: string, kind: string): BodyValidator | undefined {
  const key = gvkKey(apiVersion, kind);
  let validator = bodyValidators.get(key);
  if (!validator) {
    validator = createBodyValidator(apiVersion, kind);
    if (validator) bodyValidators.set(key, validator);
  }
  return validator;
}

function createBodyValidator(apiVersion: string, kind: string): BodyValidator | undefined {
  const source = registry().sources.get(gvkKey(apiVersion, kind));
  if (source) {
    const validate =
      source.family === 'crd' ? compileCrdSchema(source.schema) : compileOpenApiDefinition(source.docId, source.definition);
    return (body) => (validate(body) ? [] : issuesFromAjv(validate.errors, body));
  }
  const model = kubernetesModelsClass(apiVersion, kind);
  return model ? (body) => validateWithKubernetesModels(model, body) : undefined;
}

function compileCrdSchema(schema: SchemaNode): ValidateFunction {
  const formats = new Set<string>();
  const strict = strictSchema(schema, 'crd', formats) as SchemaNode;
  ignoreUnknownFormats(formats);
  return ajv().compile(strict);
}

const addedOpenApiDocs = new Set<string>();

function compileOpenApiDefinition(docId: string, definition: string): ValidateFunction {
  ensureOpenApiDocument(docId);
  return ajv().compile({ $ref: `${docId}#/definitions/${definition}` });
}

/** Add a whole OpenAPI document once, so `#/definitions/...` references resolve inside it. */
function ensureOpenApiDocument(docId: string): void {
  if (addedOpenApiDocs.has(docId)) return;
  const definitions = registry().openApiDocs.get(docId);
  if (!definitions) throw new Error(`unknown OpenAPI document ${docId}`);
  const formats = new Set<string>();
  const strict = strictSchema({ definitions }, 'openapi', formats) as { definitions: SchemaNode };
  for (const [name, replacement] of Object.entries(LENIENT_DEFINITIONS)) {
    if (name in strict.definitions) strict.definitions[name] = replacement;
  }
  ignoreUnknownFormats(formats);
  ajv().addSchema({ $id: docId, definitions: strict.definitions });
  addedOpenApiDocs.add(docId);
}

// ---------------------------------------------------------------------------
// kubernetes-models, made strict
// ---------------------------------------------------------------------------

interface ModelClass {
  apiVersion: string;
  kind: string;
  prototype: { validate(this: unknown): void };
}

const requireFromHere = createRequire(import.meta.url);

/** `kubernetes-models/<group>/<version>/<Kind>` (core: `kubernetes-models/<version>/<Kind>`). */
function kubernetesModelsClass(apiVersion: string, kind: string): ModelClass | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  // Guard the module specifier: these strings come from the object under test.
  if (!/^[a-z0-9.-]*$/.test(group ?? '') || !/^v\d+[a-z0-9]*$/.test(version ?? '') || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    return undefined;
  }
  const specifier = ['kubernetes-models', group, version, kind].filter(Boolean).join('/');
  let mod: Record<string, unknown>;
  try {
    mod = requireFromHere(specifier) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const cls = mod[kind] as Partial<ModelClass> | undefined;
  // Nested types (e.g. DaemonSetSpec) also have modules; only resources carry apiVersion/kind.
  return cls?.apiVersion === apiVersion && cls.kind === kind ? (cls as ModelClass) : undefined;
}

/**
 * kubernetes-models ships precompiled ajv validators without `additionalProperties: false`
 * and without its JSON schemas, so unknown fields pass. We run its validator on a proxy
 * that records which properties it looks at: a struct validator reads every property it
 * knows (to check presence), a map validator enumerates the keys. Any key of a struct the
 * validator never read is therefore unknown to the schema.
 */
function validateWithKubernetesModels(model: ModelClass, body: JsonObject): SchemaIssue[] {
  const tracker = new ReadTracker();
  let errors: ErrorObject[] = [];
  try {
    model.prototype.validate.call(tracker.wrap(body, []));
  } catch (err) {
    const found = (err as { errors?: unknown }).errors;
    if (!Array.isArray(found)) throw err;
    errors = found as ErrorObject[];
  }
  return [...issuesFromAjv(errors, body), ...tracker.unknownFields(body)];
}

interface TrackedNode {
  target: object;
  segments: string[];
  proxy: object;
  read: Set<string>;
  enumerated: boolean;
}

class ReadTracker {
  private readonly nodes = new Map<string, TrackedNode>();

  wrap<T extends object>(target: T, segments: string[]): T {
    const key = segments.join('\u0000');
    const existing = this.nodes.get(key);
    if (existing && existing.target === target) return existing.proxy as T;
    const node: TrackedNode = { target, segments, proxy: target, read: new Set(), enumerated: false };
    node.proxy = new Proxy(target, this.handler(node));
    this.nodes.set(key, node);
    return node.proxy as T;
  }

  private handler(node: TrackedNode): ProxyHandler<object> {
    return {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== 'string') return value;
        node.read.add(prop);
        return typeof value === 'object' && value !== null ? this.wrap(value, [...node.segments, prop]) : value;
      },
      has: (target, prop) => {
        if (typeof prop === 'string') node.read.add(prop);
        return Reflect.has(target, prop);
      },
      getOwnPropertyDescriptor: (target, prop) => {
        if (typeof prop === 'string') node.read.add(prop);
        return Reflect.getOwnPropertyDescriptor(target, prop);
      },
      ownKeys: (target) => {
        node.enumerated = true; // a map: every key is examined by the value schema
        return Reflect.ownKeys(target);
      },
    };
  }

  /**
   * Keys of structs the validator inspected but never read. Objects it never touched
   * (opaque types, or values whose type check already failed) are not judged.
   */
  unknownFields(root: unknown): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    for (const node of this.nodes.values()) {
      if (Array.isArray(node.target) || node.enumerated || node.read.size === 0) continue;
      for (const key of Object.keys(node.target)) {
        if (!node.read.has(key)) issues.push({ path: formatPath([...node.segments, key], root), message: `unknown field "${key}"` });
      }
    }
    return issues;
  }
}

// ---------------------------------------------------------------------------
// Metadata: ObjectMeta schema + the apiserver's syntax rules
// ---------------------------------------------------------------------------

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
let objectMetaValidator: ValidateFunction | undefined;

/** ObjectMeta comes from whichever shipped OpenAPI document defines it. */
function objectMetaSchema(): ValidateFunction {
  if (objectMetaValidator) return objectMetaValidator;
  const docId = [...registry().openApiDocs].find(([, defs]) => OBJECT_META in defs)?.[0];
  if (!docId) throw new Error(`no OpenAPI document in ${schemasDir()} defines ${OBJECT_META}`);
  objectMetaValidator = compileOpenApiDefinition(docId, OBJECT_META);
  return objectMetaValidator;
}

function validateObjectMeta(meta: unknown, apiVersion: string, kind: string): SchemaIssue[] {
  if (meta === undefined) return [{ path: 'metadata', message: 'required field is missing' }];
  const root = { metadata: meta };
  const validate = objectMetaSchema();
  const issues = validate(meta) ? [] : issuesFromAjv(validate.errors, root, ['metadata']);
  if (!isRecord(meta)) return issues;
  issues.push(...checkName(meta.name, nameRuleFor(apiVersion, kind)));
  if (typeof meta.namespace === 'string') {
    issues.push(...syntaxIssues('metadata.namespace', dns1123Label(meta.namespace)));
  }
  issues.push(...labelAndAnnotationIssues(meta, ['metadata']));
  return issues;
}

/** Pod templates (Deployment, DaemonSet, ...) get the same label rules and a selector match. */
function validatePodTemplate(obj: JsonObject): SchemaIssue[] {
  const spec = obj.spec;
  if (!isRecord(spec) || !isRecord(spec.template) || !isRecord(spec.template.metadata)) return [];
  const templateMeta = spec.template.metadata;
  const issues = labelAndAnnotationIssues(templateMeta, ['spec', 'template', 'metadata']);
  if (isRecord(spec.selector) && isAppsWorkload(obj)) issues.push(...selectorIssues(spec.selector, templateMeta.labels));
  return issues;
}

function isAppsWorkload(obj: JsonObject): boolean {
  return obj.apiVersion === 'apps/v1' && ['DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'].includes(String(obj.kind));
}

/** The apiserver rejects workloads whose selector is empty or does not select their own pods. */
function selectorIssues(selector: JsonObject, labels: unknown): SchemaIssue[] {
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isRecord) : [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) {
    return [{ path: 'spec.selector', message: 'empty selector is invalid for this workload' }];
  }
  const podLabels = isRecord(labels) ? labels : {};
  const matches =
    Object.entries(matchLabels).every(([k, v]) => podLabels[k] === v) && expressions.every((e) => expressionMatches(e, podLabels));
  return matches ? [] : [{ path: 'spec.template.metadata.labels', message: '`selector` does not match template `labels`' }];
}

function expressionMatches(expr: JsonObject, labels: JsonObject): boolean {
  const key = String(expr.key);
  const values = Array.isArray(expr.values) ? expr.values : [];
  const has = Object.hasOwn(labels, key);
  switch (expr.operator) {
    case 'In':
      return has && values.includes(labels[key]);
    case 'NotIn':
      return !has || !values.includes(labels[key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

type NameRule = (name: string) => string[];

/** Most kinds want a DNS-1123 subdomain; Namespaces a label; RBAC objects any path segment ("system:foo"). */
function nameRuleFor(apiVersion: string, kind: string): NameRule {
  if (apiVersion === 'v1' && kind === 'Namespace') return dns1123Label;
  if (apiVersion.startsWith('rbac.authorization.k8s.io/')) return pathSegmentName;
  return dns1123Subdomain;
}

function checkName(name: unknown, rule: NameRule): SchemaIssue[] {
  if (name === undefined || name === '') return [{ path: 'metadata.name', message: 'required field is missing' }];
  return typeof name === 'string' ? syntaxIssues('metadata.name', rule(name)) : []; // wrong type: schema reports it
}

function syntaxIssues(pathText: string, problems: string[]): SchemaIssue[] {
  return problems.map((message) => ({ path: pathText, message }));
}

function labelAndAnnotationIssues(meta: JsonObject, at: string[]): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const root = nest(at, meta);
  if (isRecord(meta.labels)) {
    for (const [key, value] of Object.entries(meta.labels)) {
      const where = formatPath([...at, 'labels', key], root);
      issues.push(...syntaxIssues(where, qualifiedName(key)));
      if (typeof value === 'string') issues.push(...syntaxIssues(where, labelValue(value)));
    }
  }
  if (isRecord(meta.annotations)) {
    let totalSize = 0;
    for (const [key, value] of Object.entries(meta.annotations)) {
      issues.push(...syntaxIssues(formatPath([...at, 'annotations', key], root), qualifiedName(key.toLowerCase())));
      totalSize += key.length + (typeof value === 'string' ? value.length : 0);
    }
    if (totalSize > 256 * 1024) {
      const where = formatPath([...at, 'annotations'], root);
      issues.push({ path: where, message: 'annotations may not be larger than 262144 bytes in total' });
    }
  }
  return issues;
}

/** `{a: {b: leaf}}` for path [a, b], so formatPath can walk it. */
function nest(segments: readonly string[], leaf: unknown): unknown {
  return segments.reduceRight<unknown>((inner, seg) => ({ [seg]: inner }), leaf);
}

// Syntax rules from k8s.io/apimachinery/pkg/util/validation (messages kept close to upstream).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function maxLength(value: string, max: number): string[] {
  return value.length > max ? [`must be no more than ${max} characters`] : [];
}

function dns1123Label(value: string): string[] {
  const problems = maxLength(value, 63);
  if (!DNS1123_LABEL.test(value)) {
    problems.push(
      `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (got "${value}")`,
    );
  }
  return problems;
}

function dns1123Subdomain(value: string): string[] {
  const problems = maxLength(value, 253);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    problems.push(
      `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (got "${value}")`,
    );
  }
  return problems;
}

function pathSegmentName(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  return /[/%]/.test(value) ? [`may not contain '/' or '%' (got "${value}")`] : [];
}

/** Label and annotation keys: optional DNS-subdomain prefix, "/", then a 63-char name. */
function qualifiedName(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) return [`key "${key}" may contain at most one '/'`];
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
  const problems: string[] = [];
  if (parts.length === 2) {
    if (prefix === '') problems.push(`key "${key}": prefix part must be non-empty`);
    else problems.push(...dns1123Subdomain(prefix).map((p) => `key "${key}": prefix part ${p}`));
  }
  if (name === '') problems.push(`key "${key}": name part must be non-empty`);
  else {
    problems.push(...maxLength(name, 63).map((p) => `key "${key}": name part ${p}`));
    if (!QUALIFIED_NAME_PART.test(name)) {
      problems.push(
        `key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      );
    }
  }
  return problems;
}

function labelValue(value: string): string[] {
  const problems = maxLength(value, 63);
  if (!LABEL_VALUE.test(value)) {
    problems.push(
      `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (got "${value}")`,
    );
  }
  return problems;
}

// ---------------------------------------------------------------------------
// ajv errors -> readable issues
// ---------------------------------------------------------------------------

/**
 * Converts ajv errors. For alternatives (int-or-string, quantity) ajv reports every failed
 * branch plus "must match a schema in anyOf". If some branch had the right type but a bad
 * value (e.g. a quantity string failing its pattern), that failure is the useful one;
 * otherwise the branch type errors fold into one "must be integer or string".
 */
function issuesFromAjv(errors: readonly ErrorObject[] | null | undefined, root: unknown, prefix: string[] = []): SchemaIssue[] {
  const all = errors ?? [];
  const isAlternative = (e: ErrorObject) => e.keyword === 'anyOf' || e.keyword === 'oneOf';
  const alternativePaths = new Set(all.filter(isAlternative).map((e) => e.instancePath));
  const valueFailurePaths = new Set(
    all.filter((e) => alternativePaths.has(e.instancePath) && e.keyword !== 'type' && !isAlternative(e)).map((e) => e.instancePath),
  );
  return all
    .filter((e) => !(e.keyword === 'type' && alternativePaths.has(e.instancePath)))
    .filter((e) => !(isAlternative(e) && valueFailurePaths.has(e.instancePath)))
    .map((e) => issueFromAjv(e, all, root, prefix));
}

function issueFromAjv(error: ErrorObject, all: readonly ErrorObject[], root: unknown, prefix: string[]): SchemaIssue {
  const segments = [...prefix, ...pointerSegments(error.instancePath)];
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      return { path: formatPath([...segments, field], root), message: `unknown field "${field}"` };
    }
    case 'required':
      return { path: formatPath([...segments, String(params.missingProperty)], root), message: 'required field is missing' };
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : [];
      return { path: formatPath(segments, root), message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` };
    }
    case 'anyOf':
    case 'oneOf':
      return { path: formatPath(segments, root), message: alternativeMessage(error, all) };
    default:
      return { path: formatPath(segments, root), message: error.message ?? `fails "${error.keyword}"` };
  }
}

function alternativeMessage(error: ErrorObject, all: readonly ErrorObject[]): string {
  const types = all
    .filter((e) => e.keyword === 'type' && e.instancePath === error.instancePath)
    .map((e) => String((e.params as Record<string, unknown>).type));
  return types.length > 0 ? `must be ${[...new Set(types)].join(' or ')}` : (error.message ?? 'matches none of the allowed schemas');
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `spec.template.spec.containers[0].name`, `metadata.labels["app.kubernetes.io/name"]`. */
function formatPath(segments: readonly string[], root: unknown): string {
  let out = '';
  let current: unknown = root;
  for (const seg of segments) {
    if (Array.isArray(current)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
    current = isRecord(current) || Array.isArray(current) ? (current as Record<string, unknown>)[seg] : undefined;
  }
  return out === '' ? '<root>' : out;
}
