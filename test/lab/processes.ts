/**
 * Process and socket checks for tests that show a lab service or node never outlives
 * kmodlab and listens on loopback only (read from /proc, no tools needed).
 */
import { readFileSync } from 'node:fs';

/** Local addresses (hex, e.g. 0100007F = 127.0.0.1) listening on `port`, from /proc/net/tcp{,6} (state 0A = LISTEN). */
export function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[1]?.endsWith(`:${hexPort}`)) out.push(cols[1].split(':')[0]!);
    }
  }
  return out;
}

/** Alive = has a /proc entry that is not a zombie (this sandbox's init reaps late). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && alive(pid)) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}
