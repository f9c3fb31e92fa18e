/**
 * When a pod restart counts, for every target alike: only when it was observed —
 * its restart count rose between two observations, or its container was seen running,
 * then seen gone (exited, killed, its node down), then seen running again. A node that
 * boots is not a restart by itself: a pod that does not come back after the boot did not
 * restart (it stopped), and a pod seen for the first time only started.
 */

/** What is known of one pod from the observations so far. */
export interface PodSightings {
  /** Seen running at least once. */
  seenRunning: boolean;
  /** Seen gone since it was last seen running (why, for the event's reason). */
  goneSince?: string;
  /** Last restart count reported (clusters report it; the lab does not). */
  restartCount?: number;
}

export interface PodObservation {
  running: boolean;
  /** Why it is not running (e.g. `NodeReboot`, `FailedPostStartHook`); ignored when running. */
  reason?: string;
  restartCount?: number;
}

export const NEVER_SEEN: PodSightings = { seenRunning: false };

/** The next state, and the restart this observation shows (undefined: none). */
export function observePod(before: PodSightings, now: PodObservation): { sightings: PodSightings; restart?: { reason: string } } {
  let restart: { reason: string } | undefined;
  if (before.restartCount !== undefined && now.restartCount !== undefined && now.restartCount > before.restartCount) {
    restart = { reason: now.reason ?? before.goneSince ?? 'restart count rose' };
  } else if (now.running && before.seenRunning && before.goneSince !== undefined) {
    restart = { reason: before.goneSince };
  }
  const sightings: PodSightings = now.running
    ? { seenRunning: true }
    : { seenRunning: before.seenRunning, ...(before.seenRunning ? { goneSince: before.goneSince ?? now.reason ?? 'not running' } : {}) };
  const count = now.restartCount ?? before.restartCount;
  if (count !== undefined) sightings.restartCount = count;
  return restart ? { sightings, restart } : { sightings };
}
