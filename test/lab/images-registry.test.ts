/**
 * The lab registry: kmodlab's own docker-registry listens on 127.0.0.1 only, answers the
 * distribution API, stops with the command, and never outlives kmodlab (SIGTERM runs
 * the exit handlers; SIGKILL leaves it to setpriv's parent-death signal). Plus the pure
 * parts: the --registry flag, the config written.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { UserError } from '../../src/errors.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { openRegistry, parseRegistryFlag, registryAnswers, registryConfig } from '../../src/targets/lab/images/registry.js';
import { trackedPids } from '../../src/targets/lab/node/registry.js';
import { listeners, alive, waitGone } from './processes.js';
import { REPO, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

describe('--registry and the registry config', () => {
  it.each([
    ['quay.io/acme', { host: 'quay.io', path: 'acme' }],
    ['127.0.0.1:5000', { host: '127.0.0.1:5000', path: '' }],
    ['localhost:5000/lab/', { host: 'localhost:5000', path: 'lab' }],
    ['registry.example.com/a/b', { host: 'registry.example.com', path: 'a/b' }],
  ])('%s is a registry', (flag, expected) => {
    expect(parseRegistryFlag(flag)).toEqual(expected);
  });

  it.each(['https://quay.io/acme', 'quay.io/acme:latest', 'acme/driver', 'Quay.io/x', ''])('%s is refused with a message naming the flag', (flag) => {
    expect(() => parseRegistryFlag(flag)).toThrow(UserError);
    expect(() => parseRegistryFlag(flag)).toThrow(/--registry .*host\[:port\]\[\/path\]/);
  });

  it('an external registry gets the lab path under it, starts nothing, and is verified with TLS unless loopback', async () => {
    const r = await openRegistry({ registry: 'registry.example.com/team' });
    expect(r).toMatchObject({ host: 'registry.example.com', prefix: 'registry.example.com/team/kmodlab', managed: false, insecure: false });
    expect(r.pid).toBeUndefined();
    expect((await openRegistry({ registry: '127.0.0.1:5000' })).insecure).toBe(true);
  });

  it.each([
    [['lab', 'images', '--registry-port', '99999'], /--registry-port "99999": expected a TCP port number/],
    [['lab', 'release-info', '6.1.0-56-amd64', '--registry', 'https://quay.io/acme'], /--registry "https:\/\/quay.io\/acme": expected a registry as host/],
    [['lab', 'images', '--registry', 'quay.io/acme', '--registry-port', '5000'], /cannot be combined with --registry/],
    [['lab', 'images', '-o', 'yaml'], /unknown format "yaml"/],
  ])('kmodlab %j is a user error (exit 2) naming the flag', async (args, message) => {
    const err: string[] = [];
    const code = await main(['node', 'kmodlab', ...args], { stdout: () => undefined, stderr: (t) => void err.push(t) });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(message);
  });

  it('the config listens on 127.0.0.1 only, stores under the given dir and has no auth', () => {
    const cfg = JSON.parse(registryConfig('/cache/registry/storage', 41234)) as Record<string, any>;
    expect(cfg.http.addr).toBe('127.0.0.1:41234');
    expect(cfg.storage.filesystem.rootdirectory).toBe('/cache/registry/storage');
    expect(cfg.auth).toBeUndefined();
  });
});

const haveRegistry = !!findTool('docker-registry');

describe.skipIf(!haveRegistry)(`kmodlab's own registry${haveRegistry ? '' : ' [SKIPPED: docker-registry not installed (scripts/lab-packages.sh)]'}`, () => {
  it('starts on 127.0.0.1 with storage under its dir, keeps its port, and stops', async () => {
    const dir = tempDir('registry');
    const r = await openRegistry({ dir });
    let pid: number | undefined;
    try {
      pid = r.pid;
      expect(r.managed).toBe(true);
      expect(r.host).toMatch(/^127\.0\.0\.1:\d+$/);
      const port = Number(r.host.split(':')[1]);
      expect(await registryAnswers(r.host)).toBe(true);
      // bound to the loopback address only (0100007F is 127.0.0.1 in /proc/net/tcp)
      expect(listeners(port)).toEqual(['0100007F']);
      expect(r.storageDir).toBe(join(dir, 'storage'));
      expect(trackedPids()).toContain(pid);
      await r.stop();
      expect(await waitGone(pid!, 5000)).toBe(true);
      expect(await registryAnswers(r.host)).toBe(false);
      // the next start reuses the port, so image references stay the same
      const again = await openRegistry({ dir });
      expect(again.host).toBe(r.host);
      await again.stop();
    } finally {
      await r.stop();
    }
  });

  it('a second user of the registry takes it over when its owner stops, on the same port, until it stops too', async () => {
    const dir = tempDir('registry-shared');
    const owner = await openRegistry({ dir });
    const user = await openRegistry({ dir });
    try {
      expect(user.host).toBe(owner.host);
      expect(user.pid).toBeUndefined(); // shared: not this handle's process
      await owner.stop();
      expect(await waitGone(owner.pid!, 5000)).toBe(true);
      let answers = false;
      for (let i = 0; i < 100 && !answers; i++) {
        await new Promise((r) => setTimeout(r, 100));
        answers = await registryAnswers(user.host, 500);
      }
      expect(answers).toBe(true);
      const taken = Number(readFileSync(join(dir, 'registry.pid'), 'utf8').trim());
      expect(taken).not.toBe(owner.pid);
      await user.stop();
      expect(await waitGone(taken, 5000)).toBe(true);
      expect(await registryAnswers(user.host)).toBe(false);
    } finally {
      await owner.stop();
      await user.stop();
    }
  });

  /** The registry module and what it imports, transpiled once (Node 20 cannot run .ts). */
  let transpiled: string | undefined;
  function transpileTree(): string {
    if (transpiled) return transpiled;
    const outDir = (transpiled = tempDir('registry-child'));
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((e) => {
        const p = join(d, e);
        return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
      });
    const files = [join(REPO, 'src/errors.ts'), ...['images', 'host', 'node'].flatMap((d) => walk(join(REPO, 'src/targets/lab', d)))];
    for (const file of files) {
      const out = join(outDir, relative(REPO, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: file }).outputText);
    }
    writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
    return outDir;
  }

  it.each(['SIGTERM', 'SIGKILL'] as const)('does not outlive kmodlab killed with %s', async (signal) => {
    const out = transpileTree();
    const script = join(out, `child-${signal}.mjs`);
    writeFileSync(
      script,
      `import { openRegistry } from './src/targets/lab/images/registry.js';\n` +
        `const r = await openRegistry({ dir: process.argv[2] });\n` +
        `process.stdout.write(JSON.stringify({ pid: r.pid, host: r.host }) + '\\n');\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, [script, tempDir('registry-dir')], { cwd: out, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_PATH: join(REPO, 'node_modules') } });
    const first = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before the registry started`)));
    });
    const { pid, host } = JSON.parse(first) as { pid: number; host: string };
    expect(alive(pid)).toBe(true);
    child.kill(signal);
    expect(await waitGone(pid, 10_000)).toBe(true);
    expect(await registryAnswers(host)).toBe(false);
  });
});
