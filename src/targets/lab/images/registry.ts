/**
 * The registry the lab release and the lab's builds are pushed to and pulled from.
 *
 * By default kmodlab runs its own: Debian's `docker-registry` (distribution 2.8) with a
 * config written here — listening on 127.0.0.1 only, no auth (loopback, the Debian
 * package's own config enables htpasswd on :5000 and is not used), storage under the
 * lab cache — started when a command needs it and stopped when the command ends. Like
 * QEMU nodes it never outlives kmodlab (host/lab-service.ts).
 *
 * The port is remembered in the cache so image references stay the same from one run
 * to the next; `--registry-port`/KMODLAB_REGISTRY_PORT fixes it. Or the user names an
 * existing registry (`--registry host[:port][/path]` or KMODLAB_REGISTRY): then kmodlab
 * starts nothing, and pushes and pulls there with the user's own container credentials
 * (buildah/skopeo read them from their auth files; kmodlab never sees them).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../../errors.js';
import { labCacheDir, writeFileAtomic } from '../host/cache.js';
import { freePort, liveOwner, startLabService } from '../host/lab-service.js';
import { requireTool } from '../host/tools.js';

export interface LabRegistry {
  /** `host:port` (what image references start with). */
  host: string;
  /** Repository prefix for the lab's images, e.g. `127.0.0.1:5123/kmodlab`. */
  prefix: string;
  /** Plain HTTP / unverified TLS: only for kmodlab's own loopback registry (or when the user asks). */
  insecure: boolean;
  /** True when kmodlab runs this registry (and can count the bytes it stores). */
  managed: boolean;
  /** Storage root of a managed registry. */
  storageDir?: string;
  /** Process id of a registry this process started. */
  pid?: number;
  /** Stops a registry this process started; a no-op otherwise. */
  stop(): Promise<void>;
}

export interface OpenRegistryOptions {
  /** An existing registry, `host[:port][/path]`; default: KMODLAB_REGISTRY, else kmodlab's own. */
  registry?: string;
  /** Port for kmodlab's own registry; default: KMODLAB_REGISTRY_PORT, else the remembered one, else a free one. */
  port?: number;
  /** Root of the managed registry's files (config, storage, log); default: <lab cache>/registry. */
  dir?: string;
  /** How long to wait for the registry to answer. */
  readyTimeoutMs?: number;
}

/**
 * The layer compression of every push to `registry`: zstd to kmodlab's own registry, gzip
 * (every client reads it) to one the user names. One choice for all pushes because of how
 * buildah (Debian's 1.28) treats a base image's layers: it reuses a compressed copy its blob
 * cache knows *at this registry's host:port*, whatever that copy's compression, and else
 * re-compresses the layer. kmodlab's registry can come back on another port (the remembered
 * one taken), and then nothing is known there. Re-compressing with the same algorithm gives
 * the same bytes, so when every push uses the base images' compression a layered image keeps
 * the base's layer digests — and a node pulls only the layers it lacks (measured in
 * lab-up-mco.test.ts: a gzip push after a port change re-sent the whole 119 MB base).
 */
export function pushCompression(registry: Pick<LabRegistry, 'managed'>): 'zstd' | 'gzip' {
  return registry.managed ? 'zstd' : 'gzip';
}

/** Repository path under the registry the lab's own images live in. */
export const LAB_REPOSITORY_PATH = 'kmodlab';

const REF_FORM = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** Validates `--registry`: `host[:port][/path]`, no scheme, no tag. */
export function parseRegistryFlag(value: string, flag = '--registry'): { host: string; path: string } {
  const v = value.trim().replace(/\/+$/, '');
  const first = v.split('/')[0]!;
  // As docker's reference rule: the first component names a registry only with a dot, a port or "localhost".
  const namesHost = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!REF_FORM.test(v) || !namesHost) {
    throw new UserError(
      `${flag} "${value}": expected a registry as host[:port][/path], e.g. quay.io/acme or 127.0.0.1:5000 (no scheme, no tag)`,
    );
  }
  const [host, ...path] = v.split('/');
  return { host: host!, path: path.join('/') };
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '');
  return h === '127.0.0.1' || h === 'localhost' || h === '[::1]';
}

export function registryDir(dir?: string): string {
  return dir ?? labCacheDir('registry');
}

/** Opens the registry a command works with: the user's, or kmodlab's own (started now). */
export async function openRegistry(opts: OpenRegistryOptions = {}): Promise<LabRegistry> {
  const named = opts.registry ?? process.env.KMODLAB_REGISTRY;
  if (named) {
    const { host, path } = parseRegistryFlag(named, opts.registry ? '--registry' : 'KMODLAB_REGISTRY');
    return {
      host,
      prefix: [host, path, LAB_REPOSITORY_PATH].filter(Boolean).join('/'),
      insecure: isLoopback(host) || process.env.KMODLAB_REGISTRY_INSECURE === '1',
      managed: false,
      stop: async () => undefined,
    };
  }
  return startManagedRegistry(opts);
}

function envPort(): number | undefined {
  const v = process.env.KMODLAB_REGISTRY_PORT;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UserError(`KMODLAB_REGISTRY_PORT "${v}": expected a TCP port number (1-65535)`);
  return n;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Answers /v2/ as a distribution registry does? */
export async function registryAnswers(host: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.headers.get('docker-distribution-api-version') === 'registry/2.0';
  } catch {
    return false;
  }
}

/** The distribution config kmodlab runs its registry with (JSON is valid YAML). */
export function registryConfig(storageDir: string, port: number): string {
  return `${JSON.stringify(
    {
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: storageDir }, delete: { enabled: true } },
      // 127.0.0.1 only: lab services never listen on other interfaces. No auth section: no auth.
      // The secret only signs upload state between requests of this one instance.
      http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
    },
    null,
    2,
  )}\n`;
}

async function startManagedRegistry(opts: OpenRegistryOptions): Promise<LabRegistry> {
  const dir = registryDir(opts.dir);
  const storageDir = join(dir, 'storage');
  const configFile = join(dir, 'config.yml');
  const portFile = join(dir, 'port');
  const remembered = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : undefined;
  const wanted = opts.port ?? envPort();
  let port = wanted ?? remembered;

  const shared = (p: number): LabRegistry => ({
    host: `127.0.0.1:${p}`,
    prefix: `127.0.0.1:${p}/${LAB_REPOSITORY_PATH}`,
    insecure: true,
    managed: true,
    storageDir,
    stop: async () => undefined, // its owner stops it
  });

  // Another kmodlab process already serves this storage: use it, leave it to its owner,
  // and take it over if the owner goes first.
  if (port !== undefined && liveOwner(join(dir, 'registry.pid'), configFile) !== undefined && (await registryAnswers(`127.0.0.1:${port}`))) {
    return takeOverWhenOrphaned(shared(port), { ...opts, dir, port }, configFile);
  }

  if (port === undefined || !(await portIsFree(port))) {
    if (wanted !== undefined) {
      throw new UserError(`registry port ${wanted} on 127.0.0.1 is in use`, 'choose another with --registry-port / KMODLAB_REGISTRY_PORT, or name a running registry with --registry');
    }
    port = await freePort();
  }
  writeFileAtomic(portFile, `${port}\n`);
  writeFileAtomic(configFile, registryConfig(storageDir, port), 0o600);

  const registry = requireTool('docker-registry');
  const proc = await startLabService({
    name: 'docker-registry',
    command: registry,
    args: ['serve', configFile],
    logFile: join(dir, 'registry.log'),
    pidFile: join(dir, 'registry.pid'),
    address: `127.0.0.1:${port}`,
    ready: () => registryAnswers(`127.0.0.1:${port}`, 500),
    readyTimeoutMs: opts.readyTimeoutMs ?? 15_000,
  });
  return { ...shared(port), stop: proc.stop, pid: proc.pid };
}

/**
 * A registry another kmodlab process started dies with that process (its parent-death
 * signal), while this one may still be using it: `lab up` pulling for its nodes after the
 * `lab build` that started the registry has ended. While this process holds the handle,
 * a registry whose owner is gone is started again here, on the same port and storage, so
 * image references stay valid; the first process to notice takes it over, the others
 * see the new owner. stop() ends the watch and stops a registry taken over.
 */
function takeOverWhenOrphaned(registry: LabRegistry, opts: OpenRegistryOptions & { dir: string; port: number }, configFile: string): LabRegistry {
  let mine: LabRegistry | undefined;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || mine || liveOwner(join(opts.dir, 'registry.pid'), configFile) !== undefined) return;
    busy = true;
    startManagedRegistry(opts)
      .then((r) => {
        mine = r;
      })
      // Another user took it over first (the port is taken): it serves again.
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 1000);
  timer.unref();
  return {
    ...registry,
    stop: async () => {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 50));
      await mine?.stop();
    },
  };
}

/** Bytes stored by a managed registry (all blobs), for "registry storage used". */
export function registryStorageBytes(registry: LabRegistry): number | undefined {
  if (!registry.managed || !registry.storageDir) return undefined;
  return storedBlobs(registry).reduce((sum, b) => sum + b.size, 0);
}

/** The blob digests a managed registry holds now (undefined for a registry kmodlab does not run: its storage is not readable). */
export function blobSnapshot(registry: LabRegistry): Set<string> | undefined {
  return registry.managed ? new Set(storedBlobs(registry).map((b) => b.digest)) : undefined;
}

/** Bytes of `blobs` (an image's config + layers) the registry stored since `before` was taken: what a push added. */
export function newBlobBytes(registry: LabRegistry, before: Set<string>, blobs: readonly string[]): number {
  return storedBlobs(registry)
    .filter((b) => !before.has(b.digest) && blobs.includes(b.digest))
    .reduce((s, b) => s + b.size, 0);
}

/** Blobs in a managed registry's storage (digest → size): what a push added is the difference. */
export function storedBlobs(registry: LabRegistry): Array<{ digest: string; size: number }> {
  const root = join(registry.storageDir ?? '', 'docker', 'registry', 'v2', 'blobs', 'sha256');
  if (!registry.storageDir || !existsSync(root)) return [];
  const out: Array<{ digest: string; size: number }> = [];
  for (const prefix of readdirSync(root)) {
    for (const hex of readdirSync(join(root, prefix))) {
      const data = join(root, prefix, hex, 'data');
      try {
        out.push({ digest: `sha256:${hex}`, size: statSync(data).size });
      } catch {
        // an upload in progress
      }
    }
  }
  return out;
}

