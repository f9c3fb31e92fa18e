/**
 * What happened to one node inside a segment, replayed from its events: boots (and
 * whether each was a reboot: a new boot id), down intervals, and the driver's module
 * states. A new boot forgets module states: until the node reports again, nothing is
 * known to be loaded in that boot.
 */
import type { RecordedEvent } from '../read-run.js';
import type { Segment } from './segments.js';
import { moduleKey } from './measured.js';

export interface Boot {
  t: number;
  line: number;
  bootId: string;
  kver: string;
  /** Index in seg.events. */
  index: number;
  /** The boot id differs from the node's previous one (a first boot ever is not a reboot). */
  isReboot: boolean;
}

export interface LoadedMoment {
  t: number;
  index: number;
  /** The module-state lines that made every module loaded, and the boot's node-up line. */
  lines: number[];
  boot: Boot | undefined;
}

export interface NodeTrack {
  node: string;
  /** The node's last boot before the segment began (kernel, boot id), if any. */
  bootBefore?: { bootId: string; kver: string; line: number };
  boots: Boot[];
  downs: RecordedEvent[];
  /** Moments (in order) when every module became loaded in the current boot. */
  loadedMoments: LoadedMoment[];
  /** Moments (in order) when every module was reported not loaded in the current boot. */
  unloadedMoments: LoadedMoment[];
  /** Per module (normalised name, see moduleKey), the last known state in the node's last boot (absent: not reported since that boot). */
  finalState: Map<string, { loaded: boolean; line: number; event: RecordedEvent }>;
  /** The boot the node was in at segment end. */
  lastBoot: Boot | { bootId: string; kver: string; line: number } | undefined;
}

export function trackNode(seg: Segment, node: string, driverModules: readonly string[]): NodeTrack {
  const modules = driverModules.map(moduleKey);
  let previous: { bootId: string; kver: string; line: number } | undefined;
  const state = new Map<string, { loaded: boolean; line: number; event: RecordedEvent }>();
  for (const e of seg.before) {
    if (e.node !== node) continue;
    if (e.kind === 'node-up') {
      previous = { bootId: String(e.data['bootId']), kver: String(e.data['kver']), line: e.line };
      state.clear();
    }
    if (e.kind === 'module-state') state.set(moduleKey(e.data['module']), { loaded: e.data['loaded'] === true, line: e.line, event: e });
  }
  const track: NodeTrack = {
    node,
    ...(previous ? { bootBefore: previous } : {}),
    boots: [],
    downs: [],
    loadedMoments: [],
    unloadedMoments: [],
    finalState: state,
    lastBoot: previous,
  };
  let current: Boot | undefined;
  let allLoaded = modules.length > 0 && modules.every((m) => state.get(m)?.loaded === true);
  let allUnloaded = modules.length > 0 && modules.every((m) => state.get(m)?.loaded === false);
  seg.events.forEach((e, index) => {
    if (e.node !== node) return;
    if (e.kind === 'node-up') {
      const bootId = String(e.data['bootId']);
      const boot: Boot = { t: e.t, line: e.line, bootId, kver: String(e.data['kver']), index, isReboot: previous !== undefined && previous.bootId !== bootId };
      track.boots.push(boot);
      previous = { bootId, kver: boot.kver, line: e.line };
      current = boot;
      track.lastBoot = boot;
      state.clear();
      allLoaded = false;
      allUnloaded = false;
    } else if (e.kind === 'node-down') {
      track.downs.push(e);
    } else if (e.kind === 'module-state') {
      state.set(moduleKey(e.data['module']), { loaded: e.data['loaded'] === true, line: e.line, event: e });
      const now = modules.every((m) => state.get(m)?.loaded === true);
      if (now && !allLoaded) {
        const lines = modules.map((m) => state.get(m)!.line);
        if (current) lines.push(current.line);
        track.loadedMoments.push({ t: e.t, index, lines, boot: current });
      }
      allLoaded = now;
      const none = modules.every((m) => state.get(m)?.loaded === false);
      if (none && !allUnloaded) {
        const lines = modules.map((m) => state.get(m)!.line);
        if (current) lines.push(current.line);
        track.unloadedMoments.push({ t: e.t, index, lines, boot: current });
      }
      allUnloaded = none;
    }
  });
  return track;
}

/** Index of an event in the segment (−1 if absent). */
export function indexIn(seg: Segment, e: RecordedEvent | undefined): number {
  return e ? seg.events.indexOf(e) : -1;
}
