/**
 * Secrets must never reach events.jsonl: a run directory is meant to be shared and
 * attached to tickets. Producers should not pass secrets at all; this guard is the
 * last line of defence for the places they leak by accident (an error message that
 * quotes a kubeconfig, a build log line with an Authorization header).
 */

const REDACTED = '[REDACTED]';

/** Patterns whose match is replaced; each names what it caught (for tests and notes). */
const SECRET_PATTERNS: { what: string; re: RegExp }[] = [
  // PEM private keys (RSA, EC, OPENSSH, ENCRYPTED…), whole block or a dangling header.
  { what: 'private key', re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g },
  // HTTP bearer tokens (Authorization headers, curl lines).
  { what: 'bearer token', re: /\b(Bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi },
  // kubeconfig credentials, YAML or JSON spelling.
  { what: 'kubeconfig client key', re: /("?client-key-data"?\s*:\s*)"?[A-Za-z0-9+/=]{8,}"?/g },
  { what: 'kubeconfig token', re: /(^|[\s{,"])("?(?:token|id-token|refresh-token|password)"?\s*:\s*)"?[^\s",}]{6,}"?/gim },
  // Service-account tokens and other JWTs, wherever they appear.
  { what: 'JWT', re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
];

/** Object keys whose string value is a secret whatever it looks like. */
const SECRET_KEYS = /^(token|bearer|password|passwd|secret|client-key-data|clientKeyData|private-?key|privateKey|authorization)$/i;

/** Scrubs secrets from one string; returns the new string and what was found. */
export function redactString(s: string): { text: string; found: string[] } {
  const found: string[] = [];
  let text = s;
  for (const { what, re } of SECRET_PATTERNS) {
    text = text.replace(re, (...m: string[]) => {
      found.push(what);
      // Keep the label part (e.g. "Bearer ", "token: ") so the message stays readable.
      if (what === 'bearer token') return `${m[1]} ${REDACTED}`;
      if (what === 'kubeconfig client key') return `${m[1]}${REDACTED}`;
      if (what === 'kubeconfig token') return `${m[1]}${m[2]}${REDACTED}`;
      return REDACTED;
    });
  }
  return { text, found };
}

/** Deep copy of `value` with every secret-looking string scrubbed; `found` lists the hits. */
export function redact<T>(value: T): { value: T; found: string[] } {
  const found: string[] = [];
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      if (key !== undefined && SECRET_KEYS.test(key) && v.length > 0) {
        found.push(`key ${key}`);
        return REDACTED;
      }
      const r = redactString(v);
      found.push(...r.found);
      return r.text;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    }
    return v;
  };
  return { value: walk(value) as T, found };
}
