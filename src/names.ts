/**
 * Kubernetes names. Object names are DNS-1123 subdomains (labels for most kinds we
 * emit); label values are at most 63 characters. Names derived from user input are
 * made safe here, with a short hash suffix when they must be shortened, so two long
 * inputs never collapse onto one name.
 */
import { createHash } from 'node:crypto';

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** A DNS-1123 label (≤ 63 chars) built from the given parts. */
export function dnsLabel(...parts: string[]): string {
  const joined = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (joined.length <= 63) return joined;
  const hash = shortHash(joined);
  return `${joined.slice(0, 63 - hash.length - 1).replace(/-$/, '')}-${hash}`;
}

/** A valid label value (≤ 63 chars) for arbitrary text such as a kernel version. */
export function labelValue(s: string): string {
  let v = s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  if (v.length > 63) {
    const hash = shortHash(s);
    v = `${v.slice(0, 63 - hash.length - 1).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`;
  }
  return v;
}
