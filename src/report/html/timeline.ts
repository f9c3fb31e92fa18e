/**
 * One timeline per method, drawn from the recorded events: a band of scenarios, then
 * per node a lane (up with its kernel, down, boots, driver loaded/unloaded, pod
 * restarts, faults) with its canary strip underneath, and a lane of builds. Time runs
 * from the method's first scenario; durations are the target's (lab-scale on the lab).
 */
import type { MethodRowId } from '../../methods/rows.js';
import type { RecordedEvent, RunRecord } from '../../evaluation/read-run.js';
import { findSegment, type Segment } from '../../evaluation/metrics/segments.js';
import { trackNode } from '../../evaluation/metrics/node-track.js';
import { isProbe as isCanaryProbe } from '../../evaluation/metrics/canary.js';
import { formatMs, formatTick } from '../format.js';
import { niceScale } from './charts.js';
import { colourOf, el, esc, r1, title } from './svg.js';

const W = 1100;
const LEFT = 96;
const RIGHT = 14;
const BAND = 24;
const LANE = 30;
const CANARY = 6;
const BUILD = 16;
/** Vertical position of markers inside a node lane (below the kernel label). */
const MARK = 19;

function recordedSegments(run: RunRecord, method: MethodRowId): Segment[] {
  return run.start.data.scenarios.map((s) => findSegment(run, method, s)).filter((s) => s.status !== 'not-run');
}

/** How long a method's scenarios took, so all timelines can share one scale. */
export function methodSpan(run: RunRecord, method: MethodRowId): number {
  const segs = recordedSegments(run, method);
  return segs.length === 0 ? 0 : Math.max(...segs.map((s) => s.endT)) - segs[0]!.start!.t;
}

/** `spanMs`: the time the x axis covers (the longest method's), so methods compare at a glance. */
export function timeline(run: RunRecord, method: MethodRowId, label: string, spanMs?: number): string {
  const segs = recordedSegments(run, method);
  if (segs.length === 0) return `<p class="empty">No scenario of this method was recorded (${esc(findSegment(run, method, run.start.data.scenarios[0]!).reason ?? 'not run')}).</p>`;
  const t0 = segs[0]!.start!.t;
  const t1 = Math.max(...segs.map((s) => s.endT));
  const span = Math.max(1000, t1 - t0, spanMs ?? 0);
  const { max, step } = niceScale(span, 12);
  const x = (t: number) => LEFT + ((W - LEFT - RIGHT) * (t - t0)) / max;
  const nodes = run.start.data.nodes;
  const modules = run.start.data.driver.modules;
  const colour = colourOf(method);
  const laneTop = (i: number) => BAND + 10 + i * (LANE + CANARY + 8);
  const buildY = laneTop(nodes.length) + 2;
  const axisY = buildY + BUILD + 10;
  const h = axisY + 34;
  let g = '';

  // Grid and axis.
  for (let v = 0; v <= max + 1e-9; v += step) {
    const gx = x(t0 + v);
    const anchor = v + step > max + 1e-9 ? 'end' : v === 0 ? 'start' : 'middle';
    g += `<line class="grid" x1="${r1(gx)}" y1="0" x2="${r1(gx)}" y2="${axisY}"/><text class="tick" x="${r1(gx)}" y="${axisY + 14}" text-anchor="${anchor}">${esc(formatTick(v))}</text>`;
  }
  g += `<text class="axis-title" x="${r1((LEFT + W - RIGHT) / 2)}" y="${h - 2}" text-anchor="middle">${esc(`time since the method's first scenario — ${label}`)}</text>`;

  // Scenario band.
  for (const s of segs) {
    const xs = x(s.start!.t);
    const xe = x(s.endT);
    const cls = s.status === 'completed' ? 'scn' : `scn scn-${s.status}`;
    g += `<g class="${cls}">${title(`${s.scenario}: ${s.status}${s.reason ? ` — ${s.reason}` : ''} (${formatMs(s.endT - s.start!.t)}, ${label})`)}<rect x="${r1(xs)}" y="2" width="${r1(Math.max(2, xe - xs))}" height="${BAND - 4}" rx="3" fill="${colour}" fill-opacity="0.14" stroke="${colour}" stroke-opacity="0.5"/>`;
    g += `<text class="scn-label" x="${r1(xs + 5)}" y="${BAND / 2 + 4}">${esc(s.scenario)}${s.status !== 'completed' ? ` · ${esc(s.status)}` : ''}</text></g>`;
    g += triggerLines(s, x, axisY);
    for (const e of s.events.filter((e) => e.kind === 'manual-step')) {
      g += `<g class="mk-manual">${title(`manual step: ${String(e.data['description'])}`)}<path d="M${r1(x(e.t))} ${BAND - 2} l-5 -9 h10 z"/></g>`;
    }
  }
  g += `<text class="lane-label" x="${LEFT - 8}" y="${BAND / 2 + 4}" text-anchor="end">scenarios</text>`;

  // Node lanes.
  nodes.forEach((node, i) => {
    const y = laneTop(i);
    g += `<text class="lane-label" x="${LEFT - 8}" y="${y + LANE / 2 + 4}" text-anchor="end">${esc(node)}</text>`;
    g += `<text class="lane-sub" x="${LEFT - 8}" y="${y + LANE + CANARY + 2}" text-anchor="end">canary</text>`;
    g += nodeLane(segs, node, modules, x, y, t0, colour);
  });

  // Builds lane.
  g += `<text class="lane-label" x="${LEFT - 8}" y="${buildY + BUILD / 2 + 4}" text-anchor="end">builds</text>`;
  for (const s of segs) {
    for (const b of s.events.filter((e) => e.kind === 'build')) {
      const d = b.data as Record<string, unknown>;
      const wall = typeof d['wallMs'] === 'number' ? (d['wallMs'] as number) : 0;
      const cached = d['cached'] === true;
      const xs = x(b.t - wall);
      const tip = `build for ${String(d['kver'])}: ${d['ok'] ? 'ok' : 'failed'}${cached ? ' (cache hit)' : ''}${wall ? `, ${formatMs(wall)} wall` : ''}`;
      g += `<g class="build${cached ? ' cached' : ''}${d['ok'] ? '' : ' failed'}">${title(tip)}<rect x="${r1(xs)}" y="${buildY}" width="${r1(Math.max(3, x(b.t) - xs))}" height="${BUILD}" rx="2"/></g>`;
    }
  }
  return el('svg', { class: 'timeline', viewBox: `0 0 ${W} ${h}`, role: 'img', 'aria-label': `Timeline of ${method}`, xmlns: 'http://www.w3.org/2000/svg' }, g);
}

function triggerLines(s: Segment, x: (t: number) => number, bottom: number): string {
  return s.events
    .filter((e) => e.kind === 'apply' || e.kind === 'delete' || (e.kind === 'progress' && e.data['step'] === `${s.scenario} start`))
    .map((e) => {
      const what = e.kind === 'progress' ? `${s.scenario}: ${String(e.data['from'] ?? '')} → ${String(e.data['to'] ?? '')}` : `${e.kind}: ${(e.data['objects'] as string[]).join(', ')}`;
      return `<g class="trigger">${title(what)}<line x1="${r1(x(e.t))}" y1="${BAND}" x2="${r1(x(e.t))}" y2="${bottom}"/></g>`;
    })
    .join('');
}

/** Up/down intervals with the kernel, boots, driver state changes, restarts, faults, canary. */
function nodeLane(segs: Segment[], node: string, modules: string[], x: (t: number) => number, y: number, t0: number, colour: string): string {
  let g = '';
  const events: RecordedEvent[] = segs.flatMap((s) => s.events.filter((e) => e.node === node));
  // State at the start: the node's last boot before the method began.
  const before = [...segs[0]!.before].reverse().find((e) => e.node === node && (e.kind === 'node-up' || e.kind === 'node-down'));
  let up = before?.kind === 'node-up';
  let kver = before?.kind === 'node-up' ? String(before.data['kver']) : '';
  let since = t0;
  const end = segs.at(-1)!.endT;
  const close = (t: number) => {
    const xs = x(since);
    const w = Math.max(0, x(t) - xs);
    if (w <= 0) return;
    if (up) {
      g += `<g class="up">${title(`up on ${kver}: ${formatMs(t - since)}`)}<rect x="${r1(xs)}" y="${y}" width="${r1(w)}" height="${LANE}" rx="3"/>`;
      // The kernel sits in the top strip of the bar (when it fits); markers sit in the lower part.
      if (w > kver.length * 5.3 + 8) g += `<text class="kver" x="${r1(xs + 4)}" y="${y + 9}">${esc(kver)}</text>`;
      g += '</g>';
    } else {
      g += `<g class="down">${title(`down: ${formatMs(t - since)}`)}<rect x="${r1(xs)}" y="${y}" width="${r1(w)}" height="${LANE}" rx="3"/></g>`;
    }
  };
  for (const e of events) {
    if (e.kind === 'node-down' && up) {
      close(e.t);
      up = false;
      since = e.t;
    } else if (e.kind === 'node-up') {
      close(e.t);
      up = true;
      kver = String(e.data['kver']);
      since = e.t;
    }
  }
  close(end);

  // Markers on top of the bars.
  for (const s of segs) {
    const track = trackNode(s, node, modules);
    for (const b of track.boots) {
      g += `<g class="mk-boot${b.isReboot ? ' reboot' : ''}">${title(`node up (boot id ${b.bootId}, ${b.kver})`)}<circle cx="${r1(x(b.t))}" cy="${y + MARK}" r="4"/></g>`;
    }
    for (const m of track.loadedMoments) g += diamond(x(m.t), y + MARK, colour, true, `driver loaded (${modules.join(', ')})`);
    for (const m of track.unloadedMoments) g += diamond(x(m.t), y + MARK, colour, false, `driver not loaded (${modules.join(', ')})`);
    for (const d of s.events.filter((e) => e.node === node && e.kind === 'node-down')) {
      g += `<g class="mk-down">${title(`node down: ${String(d.data['reason'])}${d.data['detail'] ? ` (${String(d.data['detail'])})` : ''}`)}<line x1="${r1(x(d.t))}" y1="${y - 2}" x2="${r1(x(d.t))}" y2="${y + LANE + 2}"/></g>`;
    }
    for (const e of s.events.filter((e) => e.node === node && (e.kind === 'pod-restart' || e.kind === 'fault'))) {
      const cx = x(e.t);
      const cy = y + LANE - 5;
      const tip = e.kind === 'pod-restart' ? `pod restart #${String(e.data['restartCount'])}: ${String(e.data['pod'])} (${String(e.data['reason'])})` : `fault ${String(e.data['fault'])}: ${String(e.data['message'])}`;
      g +=
        e.kind === 'pod-restart'
          ? `<g class="mk-restart">${title(tip)}<path d="M${r1(cx - 3.5)} ${r1(cy - 3.5)} l7 7 m0 -7 l-7 7"/></g>`
          : `<g class="mk-fault">${title(tip)}<path d="M${r1(cx)} ${r1(cy - 5)} l5 8 h-10 z"/></g>`;
    }
    // Canary strip: red while the probes failed (probe samples only; availability changes are context).
    let downAt: number | undefined;
    const cy = y + LANE + 2;
    const probes = s.events.filter((e) => isCanaryProbe(e, node));
    for (const c of probes) {
      if (c.data['up'] !== true && downAt === undefined) downAt = c.t;
      if (c.data['up'] === true && downAt !== undefined) {
        g += `<g class="canary-down">${title(`canary down ${formatMs(c.t - downAt)}`)}<rect x="${r1(x(downAt))}" y="${cy}" width="${r1(Math.max(2, x(c.t) - x(downAt)))}" height="${CANARY - 2}" rx="1"/></g>`;
        downAt = undefined;
      }
    }
    if (downAt !== undefined) g += `<g class="canary-down">${title('canary down until the scenario ended')}<rect x="${r1(x(downAt))}" y="${cy}" width="${r1(Math.max(2, x(s.endT) - x(downAt)))}" height="${CANARY - 2}"/></g>`;
    if (probes.length > 0) {
      g += `<rect class="canary-ok" x="${r1(x(probes[0]!.t))}" y="${cy + 1}" width="${r1(Math.max(0, x(probes.at(-1)!.t) - x(probes[0]!.t)))}" height="${CANARY - 4}"/>`;
    }
  }
  return g;
}

function diamond(cx: number, cy: number, colour: string, filled: boolean, tip: string): string {
  const s = 5.5;
  return `<g class="mk-driver">${title(tip)}<path d="M${r1(cx)} ${r1(cy - s)} l${s} ${s} l-${s} ${s} l-${s} -${s} z" fill="${filled ? colour : '#fff'}" stroke="${colour}" stroke-width="2"/></g>`;
}

/** The legend shared by every timeline. */
export function timelineLegend(): string {
  const item = (svg: string, text: string) => `<span class="lg">${el('svg', { width: 22, height: 14, viewBox: '0 0 22 14', 'aria-hidden': 'true' }, svg)}${esc(text)}</span>`;
  return `<div class="legend">${[
    item('<rect class="up" x="1" y="2" width="20" height="10" rx="2"/>', 'node up (kernel shown)'),
    item('<rect class="down" x="1" y="2" width="20" height="10" rx="2"/>', 'node down'),
    item('<circle class="mk-boot-l" cx="11" cy="7" r="4"/>', 'boot (new boot id)'),
    item('<path d="M11 1 l6 6 l-6 6 l-6 -6 z" fill="#555" stroke="#555" stroke-width="1.5"/>', 'driver loaded'),
    item('<path d="M11 1 l6 6 l-6 6 l-6 -6 z" fill="#fff" stroke="#555" stroke-width="1.5"/>', 'driver unloaded / missing'),
    item('<path class="mk-restart-l" d="M7.5 3.5 l7 7 m0 -7 l-7 7"/>', 'pod restart'),
    item('<path class="mk-fault-l" d="M11 2 l5 8 h-10 z"/>', 'fault'),
    item('<path class="mk-manual-l" d="M11 12 l-5 -9 h10 z"/>', 'manual step'),
    item('<rect class="build-l" x="1" y="3" width="20" height="8" rx="2"/>', 'driver build'),
    item('<rect class="canary-l" x="1" y="5" width="20" height="4" rx="1"/>', 'canary down'),
    item('<line class="trigger-l" x1="11" y1="0" x2="11" y2="14"/>', 'apply / delete / release change'),
  ].join('')}</div>`;
}
