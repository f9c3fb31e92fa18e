/**
 * Extract the uncompressed vmlinux (ELF) from a compressed vmlinuz/bzImage.
 * Why: under TCG most of a stock boot is the guest decompressing its own kernel
 * (~5 s); booting the ELF directly (Debian kernels support PVH entry) cuts a boot
 * to ~2 s (lab-notes). Same approach as the kernel's scripts/extract-vmlinux: find
 * a compression magic in the image, decompress from there with the system tool,
 * keep the first result that is an ELF. The result is cached by image content.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { labCacheDir, sha256, writeFileAtomic } from '../host/cache.js';
import { run } from '../host/run.js';
import { findTool } from '../host/tools.js';
import { UserError } from '../../../errors.js';

export type Compression = 'gzip' | 'xz' | 'zstd' | 'lzma' | 'bzip2' | 'lz4';

/** Magic bytes and the tool + args that decompress a stream to stdout. */
const FORMATS: readonly { format: Compression; magic: Buffer; tool: string; args: string[] }[] = [
  { format: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), tool: 'xz', args: ['-dc'] },
  { format: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), tool: 'zstd', args: ['-dc'] },
  { format: 'gzip', magic: Buffer.from([0x1f, 0x8b, 0x08]), tool: 'gzip', args: ['-dc'] },
  { format: 'lzma', magic: Buffer.from([0x5d, 0x00, 0x00, 0x00]), tool: 'xz', args: ['-dc', '--format=lzma'] },
  { format: 'bzip2', magic: Buffer.from('BZh'), tool: 'bzip2', args: ['-dc'] },
  { format: 'lz4', magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), tool: 'lz4', args: ['-dc'] },
];

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf.subarray(0, 4).equals(ELF_MAGIC);
}

export interface Payload {
  format: Compression;
  offset: number;
}

/** Candidate compressed payloads, in FORMATS order then file order (a magic can occur by chance). */
export function findPayloads(image: Buffer, maxPerFormat = 8): Payload[] {
  const found: Payload[] = [];
  for (const f of FORMATS) {
    let from = 0;
    for (let n = 0; n < maxPerFormat; n++) {
      const at = image.indexOf(f.magic, from);
      if (at < 0) break;
      found.push({ format: f.format, offset: at });
      from = at + 1;
    }
  }
  return found;
}

/** Decompress one candidate; stream decoders complain about trailing bytes, so the exit code is ignored. */
async function tryPayload(image: Buffer, p: Payload): Promise<Buffer | undefined> {
  const f = FORMATS.find((x) => x.format === p.format)!;
  const tool = findTool(f.tool);
  if (!tool) return undefined;
  const res = await run(tool, f.args, { input: image.subarray(p.offset), allowFailure: true, timeoutMs: 120_000 });
  return isElf(res.stdout) ? res.stdout : undefined;
}

/** Decompress an image in memory; returns the ELF and how it was found. */
export async function decompressKernel(image: Buffer): Promise<{ elf: Buffer; payload?: Payload }> {
  if (isElf(image)) return { elf: image };
  const tried: Compression[] = [];
  for (const p of findPayloads(image)) {
    const elf = await tryPayload(image, p);
    if (elf) return { elf, payload: p };
    if (!tried.includes(p.format)) tried.push(p.format);
  }
  const missing = [...new Set(FORMATS.filter((f) => tried.includes(f.format) && !findTool(f.tool)).map((f) => f.tool))];
  throw new UserError(
    `no uncompressed ELF kernel found inside the image (tried: ${tried.join(', ') || 'no known compression magic'})`,
    missing.length ? `install ${missing.join(', ')} and retry` : 'pass a bzImage/vmlinuz built with gzip, xz, zstd, lzma, bzip2 or lz4',
  );
}

/**
 * Path of the extracted vmlinux for `vmlinuz`, extracting it on first use.
 * Cache key: the image's content hash, so a reinstalled kernel is re-extracted.
 */
export async function extractVmlinux(vmlinuz: string, opts: { cacheDir?: string } = {}): Promise<string> {
  if (!existsSync(vmlinuz)) throw new UserError(`kernel image ${vmlinuz} does not exist`);
  const image = readFileSync(vmlinuz);
  if (isElf(image)) return vmlinuz;
  const dir = opts.cacheDir ?? labCacheDir('vmlinux');
  const name = basename(vmlinuz).replace(/^vmlinuz-/, 'vmlinux-');
  const out = join(dir, `${name}-${sha256(image).slice(0, 16)}`);
  if (existsSync(out)) return out;
  const { elf } = await decompressKernel(image);
  writeFileAtomic(out, elf);
  return out;
}
