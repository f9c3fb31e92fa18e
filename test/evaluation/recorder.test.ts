/**
 * The recorder: one JSON line per event, stamped and validated; a run killed halfway
 * keeps every completed line; secrets never reach the file.
 */
import { mkdtempSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRun } from '../../src/evaluation/read-run.js';
import { EVENTS_FILE, Recorder } from '../../src/evaluation/recorder.js';
import { redact, redactString } from '../../src/evaluation/redact.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'kmodlab-rec-'));

function startRun(rec: Recorder) {
  rec.record('run-start', {
    runId: 'r1',
    target: 'lab',
    targetLabel: 'lab (QEMU TCG)',
    methods: ['dtk'],
    scenarios: ['day2'],
    nodes: ['n1'],
    driver: { name: 'd', version: '1', modules: ['m'] },
    releases: { from: '6.1.0-54-amd64' },
  });
}

describe('Recorder', () => {
  it('appends one stamped JSON line per event, as it happens', () => {
    const dir = tmp();
    let now = 1000;
    const rec = new Recorder(dir, { now: () => now });
    startRun(rec);
    // Written before close: a reader sees it at once.
    expect(readFileSync(path.join(dir, EVENTS_FILE), 'utf8').split('\n')).toHaveLength(2);
    now = 2000;
    rec.record('node-up', { bootId: 'b1', kver: 'k' }, { node: 'n1', source: 'lab' });
    rec.close();
    const lines = readFileSync(path.join(dir, EVENTS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[1]).toEqual({ t: 2000, source: 'lab', kind: 'node-up', node: 'n1', data: { bootId: 'b1', kver: 'k' } });
    expect(lines[0].source).toBe('kmodlab');
  });

  it('appends to an existing file (a resumed run keeps its history)', () => {
    const dir = tmp();
    const a = new Recorder(dir);
    startRun(a);
    a.close();
    const b = new Recorder(dir);
    b.record('progress', { step: 'again' });
    b.close();
    expect(readRun(dir).events.map((e) => e.kind)).toEqual(['run-start', 'progress']);
  });

  it('throws on an invalid payload (a producer bug) and writes nothing for it', () => {
    const dir = tmp();
    const rec = new Recorder(dir);
    startRun(rec);
    const size = statSync(rec.file).size;
    expect(() => rec.record('node-up', { bootId: 'b1' } as never)).toThrow(/invalid node-up event: kver/);
    expect(statSync(rec.file).size).toBe(size);
    rec.close();
    expect(() => rec.record('progress', { step: 'x' })).toThrow(/closed/);
  });

  it('survives a kill mid-write: N events written, last line cut short → N-1 read back with a warning', () => {
    const dir = tmp();
    const rec = new Recorder(dir);
    startRun(rec);
    const N = 50;
    for (let i = 1; i < N; i++) rec.record('sample-memory', { component: 'c', rssBytes: 1000 + i }, { node: 'n1' });
    // Not closed: the process "dies". Cut the last line in the middle, as a kill during write() would.
    const text = readFileSync(rec.file, 'utf8');
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    truncateSync(rec.file, lastStart + Math.floor((text.length - lastStart) / 2));
    const run = readRun(dir);
    expect(run.events).toHaveLength(N - 1);
    expect(run.interrupted).toBe(true);
    expect(run.warnings).toEqual([`line ${N}: last line is cut short (run killed while writing it?); ignored`]);
    expect(run.events.at(-1)!.data['rssBytes']).toBe(1000 + N - 2);
  });
});

describe('secrets never reach events.jsonl', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY-----';
  it.each([
    ['bearer token', 'curl -H "Authorization: Bearer sha256~Zx8Yq2c9LkP0aBcDeFgHiJ" https://api', 'sha256~Zx8Yq2c9LkP0aBcDeFgHiJ'],
    ['private key', `key:\n${pem}\nrest`, 'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo'],
    ['dangling private key header', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA', 'b3BlbnNzaC1rZXktdjEAAAAA'],
    ['kubeconfig client key', 'users:\n- user:\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=', 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo='],
    ['kubeconfig token', 'users:\n- user:\n    token: sha256~abcdefghijklmnop', 'sha256~abcdefghijklmnop'],
    ['JSON kubeconfig token', '{"token":"s3cr3t-t0k3n-value"}', 's3cr3t-t0k3n-value'],
    ['JWT', `serviceaccount token ${jwt} expired`, jwt],
  ])('%s is scrubbed', (_what, text, secret) => {
    const r = redactString(text);
    expect(r.text).not.toContain(secret);
    expect(r.text).toContain('[REDACTED]');
    expect(r.found.length).toBeGreaterThan(0);
  });

  it('leaves ordinary text alone', () => {
    for (const s of ['modprobe: FATAL: Module simple-kmod not found', 'token bucket refilled', 'kver 6.1.0-54-amd64', 'Bearer']) {
      expect(redactString(s)).toEqual({ text: s, found: [] });
    }
  });

  it('scrubs values of secret-named keys, deep in objects and arrays', () => {
    const r = redact({ a: [{ password: 'hunter2' }], token: 'x1' });
    expect(r.value).toEqual({ a: [{ password: '[REDACTED]' }], token: '[REDACTED]' });
  });

  it('the recorder writes the scrubbed text and says that it scrubbed', () => {
    const dir = tmp();
    const rec = new Recorder(dir);
    startRun(rec);
    rec.record('fault', { fault: 'build-failed', message: `push failed: Authorization: Bearer ${jwt}` });
    rec.record('build', { kver: 'k', ok: false, cached: false, error: `kubeconfig:\n${pem}` });
    rec.close();
    const text = readFileSync(rec.file, 'utf8');
    expect(text).not.toContain(jwt);
    expect(text).not.toContain('MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo');
    const events = readRun(dir).events;
    expect(events[1]!.data['redacted']).toEqual(['bearer token']);
    expect(events[2]!.data['redacted']).toEqual(['private key']);
  });
});
