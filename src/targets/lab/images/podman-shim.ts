/**
 * A `podman` for the rendered off-cluster build steps, over buildah: the READMEs tell a
 * person to run `podman build` / `podman push` (build.sh does), the lab has buildah
 * (Debian's podman would need a working OCI runtime, which this host's hybrid cgroup
 * setup does not give; buildah.ts). Only what the rendered steps use is provided:
 *   podman build … → buildah bud --isolation chroot --layers=false …   (same flags: -f, -t,
 *                    --build-arg, --authfile are buildah bud's too)
 *   podman push [--digestfile f] IMAGE → buildah push [--digestfile f] IMAGE (destination =
 *                    the image name, as podman does; compressed as every push to that
 *                    registry, registry.ts pushCompression)
 * with the lab's storage and, for kmodlab's own loopback registry, plain HTTP. Anything else
 * exits 125 (podman's own "command failed" code) naming the subcommand.
 *
 * `cachedDigest`: inputs unchanged since a build that pushed this digest (off-cluster-build.ts):
 * `build` does nothing and `push` writes the digest file only, so the script's own later
 * steps (build.sh's pin) still run on the digest it would have got.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shQuote, storeArgs, type Buildah } from './buildah.js';

export interface PodmanShimOptions {
  buildah: Buildah;
  /** Plain HTTP / no TLS verification for FROM pulls and pushes (kmodlab's own registry). */
  insecure: boolean;
  /** Layer compression of pushes (registry.ts pushCompression); default: buildah's (gzip). */
  compression?: 'gzip' | 'zstd';
  cachedDigest?: string;
}

/** The shim's script text. */
export function podmanShimScript(o: PodmanShimOptions): string {
  const buildah = [o.buildah.bin, ...storeArgs(o.buildah.store)].map(shQuote).join(' ');
  const tls = o.insecure ? ' --tls-verify=false' : '';
  const cached = o.cachedDigest ? shQuote(o.cachedDigest) : '';
  const compression = o.compression ? ` --compression-format ${o.compression}` : '';
  return `#!/bin/sh
# podman build/push over buildah, written by kmodlab for one off-cluster build in the lab.
set -eu
sub="\${1:-}"; [ $# -gt 0 ] && shift
cached=${cached}
case "$sub" in
  build)
    if [ -n "$cached" ]; then echo "podman build: inputs unchanged since the build that pushed $cached: not built again"; exit 0; fi
    exec ${buildah} bud --isolation chroot --layers=false${tls} "$@" ;;
  push)
    if [ -n "$cached" ]; then
      while [ $# -gt 0 ]; do
        case "$1" in
          --digestfile) printf '%s' "$cached" > "$2"; shift 2 ;;
          --digestfile=*) printf '%s' "$cached" > "\${1#--digestfile=}"; shift ;;
          *) shift ;;
        esac
      done
      echo "podman push: $cached is in the registry already"; exit 0
    fi
    exec ${buildah} push${tls}${compression} "$@" ;;
  *)
    echo "podman $sub: not provided in the kmodlab lab (only podman build and podman push, over buildah)" >&2; exit 125 ;;
esac
`;
}

/** Writes `<dir>/podman` (executable); returns the directory to put first on PATH. */
export function writePodmanShim(dir: string, o: PodmanShimOptions): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'podman');
  writeFileSync(file, podmanShimScript(o));
  chmodSync(file, 0o755);
  return dir;
}
