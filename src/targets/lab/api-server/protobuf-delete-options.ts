/**
 * The one protobuf body the lab API decodes: DeleteOptions, which kubectl's typed clients
 * (e.g. `kubectl drain` deleting pods) send as `application/vnd.kubernetes.protobuf`.
 * The wire form is kube-apiserver's protobuf serializer (k8s.io/apimachinery
 * pkg/runtime/serializer/protobuf): the magic `k8s\0`, then a runtime.Unknown message
 * (1 typeMeta, 2 raw, 3 contentEncoding, 4 contentType) whose `raw` is the
 * meta/v1 DeleteOptions message (generated.proto: 1 gracePeriodSeconds, 2 preconditions
 * {1 uid, 2 resourceVersion}, 3 orphanDependents, 4 propagationPolicy, 5 dryRun).
 * Every other protobuf body is still refused (415).
 */
import type { Obj } from './status.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { no: number; varint?: bigint; bytes?: Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, varint: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error('truncated field');
      out.push({ no, bytes: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

/** The DeleteOptions in a protobuf body, or undefined when it is not one. */
export function decodeDeleteOptions(body: Buffer): Obj | undefined {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) return undefined;
  try {
    const unknown = fields(body.subarray(4));
    const typeMeta = unknown.find((f) => f.no === 1)?.bytes;
    const kind = typeMeta ? fields(typeMeta).find((f) => f.no === 2)?.bytes?.toString('utf8') : undefined;
    if (kind !== 'DeleteOptions') return undefined;
    const raw = unknown.find((f) => f.no === 2)?.bytes ?? Buffer.alloc(0);
    const o: Obj = { kind: 'DeleteOptions', apiVersion: 'v1' };
    for (const f of fields(raw)) {
      if (f.no === 1 && f.varint !== undefined) o.gracePeriodSeconds = Number(BigInt.asIntN(64, f.varint));
      else if (f.no === 2 && f.bytes) {
        const p: Obj = {};
        for (const g of fields(f.bytes)) {
          if (g.no === 1 && g.bytes) p.uid = g.bytes.toString('utf8');
          if (g.no === 2 && g.bytes) p.resourceVersion = g.bytes.toString('utf8');
        }
        o.preconditions = p;
      } else if (f.no === 3 && f.varint !== undefined) o.orphanDependents = f.varint !== 0n;
      else if (f.no === 4 && f.bytes) o.propagationPolicy = f.bytes.toString('utf8');
      else if (f.no === 5 && f.bytes) (o.dryRun ??= []).push(f.bytes.toString('utf8'));
    }
    return o;
  } catch {
    return undefined;
  }
}
