/** When a pod restart counts (targets/pod-restarts.ts): only when observed, never because a node booted. */
import { describe, expect, it } from 'vitest';
import { NEVER_SEEN, observePod, type PodObservation } from '../../src/targets/pod-restarts.js';

/** Replays observations; returns the reasons of the restarts they show. */
function replay(obs: PodObservation[]): string[] {
  let s = NEVER_SEEN;
  const out: string[] = [];
  for (const o of obs) {
    const r = observePod(s, o);
    s = r.sightings;
    if (r.restart) out.push(r.restart.reason);
  }
  return out;
}

describe('observed restarts', () => {
  it.each<[string, PodObservation[], string[]]>([
    ['first sighting is a start', [{ running: true }], []],
    ['running, node reboots, seen running again → one restart', [{ running: true }, { running: false, reason: 'NodeReboot' }, { running: true }], ['NodeReboot']],
    ['node rebooted but the pod never came back → no restart', [{ running: true }, { running: false, reason: 'NodeReboot' }], []],
    ['gone before it ever ran, then running → a start, not a restart', [{ running: false, reason: 'ImagePullBackOff' }, { running: true }], []],
    ['running twice in a row with nothing seen between → no restart', [{ running: true }, { running: true }], []],
    ['two exits and returns → two restarts, each with its reason', [{ running: true }, { running: false, reason: 'FailedPostStartHook' }, { running: true }, { running: false, reason: 'NodeReboot' }, { running: false, reason: 'later' }, { running: true }], ['FailedPostStartHook', 'NodeReboot']],
    ['restart count rose (cluster) → restart, even unseen', [{ running: true, restartCount: 0 }, { running: true, restartCount: 2, reason: 'Error' }], ['Error']],
    ['restart count unchanged → none', [{ running: true, restartCount: 1 }, { running: true, restartCount: 1 }], []],
  ])('%s', (_name, obs, want) => expect(replay(obs)).toEqual(want));
});
