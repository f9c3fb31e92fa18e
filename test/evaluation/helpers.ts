/** Builds small run records in memory for table-driven metric tests. */
import { parseRun, type RunRecord } from '../../src/evaluation/read-run.js';

export const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);

export interface Ev {
  /** ms after T0 */
  at: number;
  kind: string;
  node?: string;
  method?: string;
  scenario?: string;
  data?: Record<string, unknown>;
}

export function runStart(over: Record<string, unknown> = {}): Ev {
  return {
    at: 0,
    kind: 'run-start',
    data: {
      runId: 'test',
      target: 'lab',
      targetLabel: 'lab (QEMU TCG)',
      methods: ['dtk'],
      scenarios: ['day2'],
      nodes: ['n1'],
      driver: { name: 'd', version: '1', modules: ['mod_a'] },
      releases: { from: '6.1.0-54-amd64', upgradeTo: '6.1.0-56-amd64', switchTo: '6.1.0-54-rt-amd64' },
      ...over,
    },
  };
}

/** Events → a RunRecord, as if read from events.jsonl. */
export function runOf(events: Ev[], trailing = ''): RunRecord {
  const text =
    events
      .map((e) =>
        JSON.stringify({
          t: T0 + e.at,
          source: 'lab',
          kind: e.kind,
          ...(e.method ? { method: e.method } : {}),
          ...(e.scenario ? { scenario: e.scenario } : {}),
          ...(e.node ? { node: e.node } : {}),
          data: e.data ?? {},
        }),
      )
      .join('\n') + `\n${trailing}`;
  return parseRun(text, '/runs/test', '/runs/test/events.jsonl');
}

/** A scenario wrapper: stamps method/scenario on start and end. */
export function scenario(method: string, scenario: string, at: number, endAt: number | undefined, body: Ev[], ok = true): Ev[] {
  const out: Ev[] = [{ at, kind: 'scenario-start', method, scenario }, ...body];
  if (endAt !== undefined) out.push({ at: endAt, kind: 'scenario-end', method, scenario, data: ok ? { ok: true } : { ok: false, error: 'boom' } });
  return out;
}

export const up = (at: number, bootId: string, kver = '6.1.0-54-amd64', node = 'n1'): Ev => ({ at, kind: 'node-up', node, data: { bootId, kver } });
export const down = (at: number, reason = 'reboot', node = 'n1'): Ev => ({ at, kind: 'node-down', node, data: { reason } });
export const mod = (at: number, loaded: boolean, module = 'mod_a', node = 'n1', extra: Record<string, unknown> = {}): Ev => ({
  at,
  kind: 'module-state',
  node,
  data: { module, loaded, ...extra },
});
export const apply = (at: number, data: Record<string, unknown> = {}): Ev => ({ at, kind: 'apply', data: { objects: ['DaemonSet/x'], ...data } });
