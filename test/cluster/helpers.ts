/** Shared set-up for the cluster tests: temp kubeconfigs pointing at the fake API server. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TESTDATA = path.join(import.meta.dirname, 'testdata');
export const FIXTURE_TOKEN = 'sha256~FIXTUREtokenQk9HVVMtZml4dHVyZS10b2tlbi0wMDAx';
export const SECOND_TOKEN = 'FIXTUREsecondFileTokenAAAABBBBCCCC';

export function tempDir(prefix = 'kmodlab-cluster-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies a fixture into `dir` with its `${SERVER}` set; returns the new path. */
export function kubeconfigFor(fixture: string, server: string, dir = tempDir(), name = fixture): string {
  const text = readFileSync(path.join(TESTDATA, fixture), 'utf8').replaceAll('${SERVER}', server);
  const out = path.join(dir, name);
  writeFileSync(out, text, { mode: 0o600 });
  return out;
}

/** Every secret-looking string from the fixtures: tokens, base64 certificate/key data and their decoded bodies. */
export function fixtureSecrets(): string[] {
  const out = new Set<string>();
  for (const f of ['ocp-token.kubeconfig', 'client-cert.kubeconfig', 'merge-second.kubeconfig', 'no-current-context.kubeconfig', 'malformed.kubeconfig']) {
    const text = readFileSync(path.join(TESTDATA, f), 'utf8');
    for (const m of text.matchAll(/(?:token|-data): (\S+)/g)) {
      out.add(m[1]!);
      if (m[0].includes('-data')) {
        const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
        for (const line of decoded.split('\n')) if (line.includes('FIXTURE')) out.add(line);
      }
    }
  }
  return [...out];
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
