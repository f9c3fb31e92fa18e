/**
 * How long `evaluate` waits for the driver after each action on the lab by default (s):
 * in-cluster builds, image pulls and probe pods on TCG nodes add their own seconds to
 * every wait (a real cluster's default is 900 s). Its own module: the CLI names it in
 * `--help` without loading the lab target (and client-node) at start-up.
 */
export const LAB_SETTLE_TIMEOUT_S = 300;
