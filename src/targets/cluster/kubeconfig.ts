/**
 * kubeconfig resolution as kubectl does it, on top of client-node's KubeConfig (which
 * knows the auth flavours: tokens, client certs, exec plugins, OIDC):
 *   1. `--kubeconfig <file>`: that file only, and it must exist;
 *   2. else `KUBECONFIG`: a ':'-separated list (';' on Windows); missing files are
 *      skipped; for each cluster/user/context name the FIRST file that defines it wins,
 *      and `current-context` comes from the first file that sets one;
 *   3. else `~/.kube/config`.
 * `--context` picks a context; otherwise `current-context`.
 *
 * We never call `loadFromDefault`: with no config it silently points at
 * http://localhost:8080, which we treat as "no kubeconfig" and say so instead.
 * Error messages name files and contexts, never file contents (a parse error from the
 * YAML library quotes the offending lines, so only its first line is kept, scrubbed).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../../errors.js';
import { redactString } from '../../evaluation/redact.js';

export interface KubeconfigOptions {
  /** `--kubeconfig`. */
  kubeconfig?: string;
  /** `--context`. */
  context?: string;
  /** Environment to read KUBECONFIG from (tests pass their own). */
  env?: Record<string, string | undefined>;
  /** Home directory for `~/.kube/config` (tests pass their own). */
  home?: string;
}

export interface ResolvedKubeconfig {
  /** The merged config with the chosen context set as current. */
  kc: KubeConfig;
  /** Files read, in precedence order. */
  files: string[];
  context: string;
  /** API server URL of the context's cluster. */
  server: string;
  /** Default namespace of the context (or `default`). */
  namespace: string;
}

const HOW_TO_PROVIDE =
  'pass --kubeconfig <file>, set KUBECONFIG, or log in so that ~/.kube/config exists (oc login / kubectl config)';

/** Which files kubectl would read, in precedence order. */
export function kubeconfigFiles(opts: KubeconfigOptions): string[] {
  if (opts.kubeconfig !== undefined) {
    const f = path.resolve(opts.kubeconfig);
    if (!existsSync(f)) throw new UserError(`--kubeconfig ${opts.kubeconfig}: no such file`);
    return [f];
  }
  const env = opts.env ?? process.env;
  const list = env['KUBECONFIG'];
  if (list !== undefined && list.length > 0) {
    const files = list
      .split(path.delimiter)
      .filter((f) => f.length > 0)
      .map((f) => path.resolve(f));
    const present = [...new Set(files)].filter((f) => existsSync(f));
    if (present.length === 0) throw new UserError(`KUBECONFIG names no existing file (${files.join(', ')})`, HOW_TO_PROVIDE);
    return present;
  }
  const home = opts.home ?? os.homedir();
  const def = path.join(home, '.kube', 'config');
  if (existsSync(def)) return [def];
  throw new UserError('no kubeconfig found (no --kubeconfig, KUBECONFIG unset, no ~/.kube/config)', HOW_TO_PROVIDE);
}

function loadOne(file: string): KubeConfig {
  const kc = new KubeConfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read kubeconfig ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    kc.loadFromString(text);
  } catch (e) {
    // First line only: js-yaml appends a snippet of the file, which may hold a token.
    const first = redactString(String((e as Error).message ?? e).split('\n')[0] ?? '').text;
    throw new UserError(`cannot parse kubeconfig ${file}: ${first}`);
  }
  // Relative certificate/key paths are relative to the file that names them.
  kc.makePathsAbsolute(path.dirname(file));
  return kc;
}

/** Merges like kubectl: the first file to define a name wins; first current-context wins. */
function merge(configs: KubeConfig[]): KubeConfig {
  const out = new KubeConfig();
  let current = '';
  for (const kc of configs) {
    if (!current && kc.getCurrentContext()) current = kc.getCurrentContext();
    for (const c of kc.getClusters()) if (!out.getCluster(c.name)) out.addCluster(c);
    for (const u of kc.getUsers()) if (!out.getUser(u.name)) out.addUser(u);
    for (const x of kc.getContexts()) if (!out.getContextObject(x.name)) out.addContext(x);
  }
  if (current) out.setCurrentContext(current);
  return out;
}

export function resolveKubeconfig(opts: KubeconfigOptions = {}): ResolvedKubeconfig {
  const files = kubeconfigFiles(opts);
  const kc = merge(files.map(loadOne));
  const names = kc.getContexts().map((c) => c.name);
  const context = opts.context ?? kc.getCurrentContext();
  if (!context) {
    throw new UserError(`kubeconfig ${files.join(':')} sets no current-context`, names.length > 0 ? `pick one with --context (${names.join(', ')})` : HOW_TO_PROVIDE);
  }
  const ctx = kc.getContextObject(context);
  if (!ctx) {
    throw new UserError(`--context ${context}: no such context in ${files.join(':')}`, names.length > 0 ? `contexts: ${names.join(', ')}` : undefined);
  }
  kc.setCurrentContext(context);
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) throw new UserError(`context ${context} names cluster "${ctx.cluster}", which ${files.join(':')} does not define`);
  if (!cluster.server) throw new UserError(`cluster "${ctx.cluster}" of context ${context} has no server URL`);
  if (!kc.getUser(ctx.user) && ctx.user) throw new UserError(`context ${context} names user "${ctx.user}", which ${files.join(':')} does not define`);
  return { kc, files, context, server: cluster.server.replace(/\/+$/, ''), namespace: ctx.namespace ?? 'default' };
}

/**
 * Where credentials come from, re-readable: a 401 means the token expired (e.g. after
 * `oc login` refreshed the file), so the files are read again, once, before retrying.
 */
export class Credentials {
  private current: ResolvedKubeconfig;
  constructor(private readonly opts: KubeconfigOptions) {
    this.current = resolveKubeconfig(opts);
  }
  get config(): ResolvedKubeconfig {
    return this.current;
  }
  /** Re-reads the kubeconfig files (same flags, same context). */
  reload(): ResolvedKubeconfig {
    this.current = resolveKubeconfig({ ...this.opts, context: this.current.context });
    return this.current;
  }
  /**
   * Request options with TLS material and the Authorization header applied (tokens,
   * exec plugins, OIDC refresh: client-node's authenticators). We call its internal
   * `applyOptions` rather than `applyToHTTPSOptions`: the latter also builds an https
   * Agent and refuses plain-http servers, and we only want the credentials. The
   * dependency is pinned to 1.4.x for that reason (a test covers it).
   */
  async requestOptions(): Promise<{ headers: Record<string, string>; tls: Record<string, unknown> }> {
    const kc = this.current.kc;
    const opts: Record<string, unknown> & { headers?: Record<string, unknown> } = { headers: {} };
    await (kc as unknown as { applyOptions(o: unknown): Promise<void> }).applyOptions(opts);
    keepExecCredentialUntilRefused(kc);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    const user = kc.getCurrentUser();
    if (user?.username) headers['Authorization'] ??= `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    const tls: Record<string, unknown> = {};
    for (const k of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername']) if (opts[k] !== undefined) tls[k] = opts[k];
    return { headers, tls };
  }
}

/**
 * Exec plugins: client-go (plugin/pkg/client/auth/exec/exec.go) keeps a credential
 * without `status.expirationTimestamp` until the server answers 401, then runs the
 * plugin again. client-node 1.4's ExecAuth caches only credentials WITH an expiry
 * (`Date.parse(undefined)` is NaN, never in the future), so it would spawn the plugin
 * (often a cloud CLI taking a second or more) for every request. We mark such a cached
 * credential as not expiring; a 401 makes the client call `Credentials.reload()`,
 * which builds a new KubeConfig — and with it a new, empty ExecAuth cache — so the
 * plugin runs again exactly then. Uses ExecAuth's `tokenCache` (1.4 internals; the
 * dependency is pinned, and exec-credentials.test.ts fails if this stops working).
 */
function keepExecCredentialUntilRefused(kc: KubeConfig): void {
  const user = kc.getCurrentUser();
  if (!user?.exec && !user?.authProvider?.config?.['exec']) return;
  const auths = (kc as unknown as { authenticators?: { tokenCache?: Record<string, { status?: { expirationTimestamp?: string } } | null> }[] }).authenticators ?? [];
  for (const a of auths) {
    const cred = a.tokenCache?.[user.name];
    if (cred?.status && !cred.status.expirationTimestamp) cred.status.expirationTimestamp = NEVER;
  }
}
const NEVER = '9999-12-31T23:59:59Z';
