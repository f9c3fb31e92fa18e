/**
 * What the rendered layering README's `build.sh` does, for lab tests: read the image, base
 * images and context it defaults to, build the Containerfile with those build args and
 * push it (buildah, the lab's build tool; podman is not installed here) in the compression
 * of every push to kmodlab's registry, as `kmodlab lab build`'s podman does, then pin the
 * pushed digest into the rendered MachineConfig's osImageURL, as build.sh does before a
 * person runs `kubectl apply`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { pushCompression } from '../../src/targets/lab/images/registry.js';

export interface LayeredImage {
  /** The repository the image was pushed to (no tag). */
  repo: string;
  digest: string;
  /** The rendered MachineConfig, its osImageURL now `<repo>@<digest>`. */
  machineConfig: string;
}

/**
 * `layeringDir` is the rendered layering folder (build.sh, Containerfile, the MachineConfig);
 * `secrets`: build secrets by id → file, as build.sh passes a signing key and certificate.
 */
export async function buildAsBuildSh(layeringDir: string, pool: string, logFile: string, secrets?: Record<string, string>): Promise<LayeredImage> {
  const buildSh = readFileSync(path.join(layeringDir, 'build.sh'), 'utf8');
  const arg = (name: string) => new RegExp(`^${name}="\\$\\{${name}:-([^}]+)\\}"`, 'm').exec(buildSh)?.[1];
  const [image, rhcos, dtk] = [arg('IMAGE'), arg('RHCOS_IMAGE'), arg('DTK_IMAGE')];
  const context = /^context="\$\{1:-([^}]+)\}"/m.exec(buildSh)?.[1];
  expect([image, rhcos, dtk, context].every(Boolean), 'build.sh names its image, base images and context').toBe(true);
  const buildah = new Buildah();
  await buildah.bud({ containerfile: path.join(layeringDir, 'Containerfile'), context: context!, tag: image!, buildArgs: { RHCOS_IMAGE: rhcos!, DTK_IMAGE: dtk! }, ...(secrets ? { secrets } : {}), logFile, insecure: true });
  const { digest } = await buildah.push(image!, image!, { insecure: true, logFile, compression: pushCompression({ managed: true }) });
  const repo = image!.replace(/:[^/:]+$/, '');
  const machineConfig = path.join(layeringDir, `00-machineconfig-${pool}.yaml`);
  writeFileSync(machineConfig, readFileSync(machineConfig, 'utf8').replace(/^(\s*osImageURL:).*$/m, `$1 ${repo}@${digest}`));
  return { repo, digest, machineConfig };
}
