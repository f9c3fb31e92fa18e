/**
 * The node agent (guest side) and its wire protocol (shared with the host client).
 *
 * The agent is a busybox-sh script shipped in the initramfs. It opens the
 * virtio-serial port named `lab.agent` ONCE and keeps it open (the port allows one
 * open at a time), announces itself, then serves one request per line.
 *
 * Host → guest, one line:   <id> <op> [<base64 argument>]
 *   ops: run <b64 shell script> | read <b64 path> | dmesg | sync <token>
 *        | reboot | poweroff
 * Guest → host, one line each:
 *   @@KL H <boot_id> <uname -r>            hello, once at agent start
 *   @@KL S <id> <token>                      answer to sync (resynchronisation)
 *   @@KL R <id> <exit code> <b64 stdout> <b64 stderr>
 *
 * Bytes written while the other side had the port closed are queued and arrive
 * later, so the host ignores any line whose id it is not waiting for, and after
 * (re)connecting sends `sync <unique token>` and discards everything up to the
 * matching answer. Base64 keeps every payload on one line whatever it contains.
 */

export const AGENT_PORT_NAME = 'lab.agent';
export const FRAME_PREFIX = '@@KL';

export const AGENT_SCRIPT = `#!/bin/sh
# kmodlab node agent (busybox sh). See src/targets/lab/node/agent.ts for the protocol.
PORT_NAME=${AGENT_PORT_NAME}
W=/run/kmodlab-agent
mkdir -p $W

find_port() {
  for d in /sys/class/virtio-ports/*; do
    [ -r "$d/name" ] || continue
    if [ "$(cat "$d/name")" = "$PORT_NAME" ]; then echo "/dev/\${d##*/}"; return 0; fi
  done
  return 1
}

i=0
dev=
while :; do
  dev=$(find_port) && [ -c "$dev" ] && break
  i=$((i + 1))
  if [ $i -gt 400 ]; then echo "kmodlab-agent: no virtio port named $PORT_NAME" >&2; exit 1; fi
  sleep 0.05
done

# Open once, read and write on the same descriptor.
exec 3<>"$dev"

b64() { base64 "$1" | tr -d '\\n'; }

echo "${FRAME_PREFIX} H $(cat /proc/sys/kernel/random/boot_id) $(uname -r)" >&3

while IFS= read -r line <&3; do
  id=\${line%% *}
  rest=\${line#* }
  op=\${rest%% *}
  arg=\${rest#* }
  [ "$arg" = "$rest" ] && arg=
  case "$op" in
    sync)
      echo "${FRAME_PREFIX} S $id $arg" >&3
      continue ;;
    run)
      { cat /etc/kmodlab/prelude.sh; echo "$arg" | base64 -d; } > $W/cmd
      sh $W/cmd </dev/null >$W/out 2>$W/err
      rc=$? ;;
    read)
      p=$(echo "$arg" | base64 -d)
      cat -- "$p" </dev/null >$W/out 2>$W/err
      rc=$? ;;
    dmesg)
      dmesg >$W/out 2>$W/err
      rc=$? ;;
    reboot|poweroff)
      # Answer first: the node disappears right after.
      echo "${FRAME_PREFIX} R $id 0  " >&3
      sync
      $op -f
      continue ;;
    *)
      : >$W/out
      echo "kmodlab-agent: unknown op '$op'" >$W/err
      rc=127 ;;
  esac
  echo "${FRAME_PREFIX} R $id $rc $(b64 $W/out) $(b64 $W/err)" >&3
done
echo "kmodlab-agent: port closed" >&2
`;

export type AgentOp = 'run' | 'read' | 'dmesg' | 'sync' | 'reboot' | 'poweroff';

export type AgentFrame =
  | { kind: 'hello'; bootId: string; kernelRelease: string }
  | { kind: 'sync'; id: string; token: string }
  | { kind: 'result'; id: string; code: number; stdout: Buffer; stderr: Buffer };

/** One request line (without the newline). */
export function encodeRequest(id: string, op: AgentOp, arg?: string | Buffer): string {
  if (op === 'sync') return `${id} sync ${String(arg)}`;
  if (arg === undefined) return `${id} ${op}`;
  return `${id} ${op} ${Buffer.from(arg).toString('base64')}`;
}

/** Parse one guest line; undefined for anything that is not a frame (noise, partial stale bytes). */
export function parseFrame(line: string): AgentFrame | undefined {
  const l = line.replace(/\r$/, '');
  let m = /^@@KL H (\S+) (\S+)$/.exec(l);
  if (m) return { kind: 'hello', bootId: m[1]!, kernelRelease: m[2]! };
  m = /^@@KL S (\S+) (\S+)$/.exec(l);
  if (m) return { kind: 'sync', id: m[1]!, token: m[2]! };
  m = /^@@KL R (\S+) (-?\d+) ([A-Za-z0-9+/=]*) ([A-Za-z0-9+/=]*)$/.exec(l);
  if (m) {
    return {
      kind: 'result',
      id: m[1]!,
      code: Number(m[2]),
      stdout: Buffer.from(m[3]!, 'base64'),
      stderr: Buffer.from(m[4]!, 'base64'),
    };
  }
  return undefined;
}
