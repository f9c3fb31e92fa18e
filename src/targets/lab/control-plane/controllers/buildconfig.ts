/**
 * BuildConfig → build, as OpenShift's build controller would run it: a driver build
 * (a Dockerfile `FROM ${DTK}`) compiles the driver for the kernel in its `KVER` build
 * arg (pinned) or for the kernel of the cluster's current driver-toolkit (tracking:
 * the ImageChange trigger on `openshift/driver-toolkit:latest` fires when the release
 * changes); a source build (`FROM scratch`) packs the driver source. Binary builds are
 * started as the README says (`oc start-build --from-dir`).
 */
import { cpSync } from 'node:fs';
import type { K8sObject } from '../../../../artifacts/artifact-set.js';
import type { LabCluster } from '../lab-cluster.js';
import { imageStreamTagRef } from '../image-registry.js';

interface BuildConfigSpec {
  source?: { type?: string; dockerfile?: string; binary?: object };
  strategy?: { dockerStrategy?: { buildArgs?: { name: string; value?: string }[] } };
  output?: { to?: { kind: string; name: string; namespace?: string } };
}

/** What each BuildConfig was last built for, so unchanged ones are not rebuilt. */
const lastBuilt = new WeakMap<LabCluster, Map<string, string>>();

function outputRef(bc: K8sObject): string | undefined {
  const to = (bc.spec as BuildConfigSpec | undefined)?.output?.to;
  if (!to) return undefined;
  if (to.kind === 'ImageStreamTag') return imageStreamTagRef(to.namespace ?? bc.metadata.namespace ?? 'default', to.name);
  return to.name;
}

export async function reconcileBuildConfigs(c: LabCluster): Promise<void> {
  let built = lastBuilt.get(c);
  if (!built) lastBuilt.set(c, (built = new Map()));
  // Source images first: driver builds copy from them.
  const bcs = c.store.list('BuildConfig').sort((a, b) => Number(isSourceBuild(b)) - Number(isSourceBuild(a)));
  for (const bc of bcs) {
    const spec = (bc.spec ?? {}) as BuildConfigSpec;
    const ref = outputRef(bc);
    if (!ref) continue;
    const id = `${bc.metadata.namespace}/${bc.metadata.name}`;
    if (isSourceBuild(bc)) {
      if (built.has(id)) continue;
      const d = c.registry.newImageDir(`${bc.metadata.name}-source`);
      cpSync(c.driver.sourceDir!, `${d.dir}/src`, { recursive: true });
      c.registry.push(ref, d.dir, d.sharePath);
      built.set(id, 'source');
      c.emit('progress', { step: `BuildConfig/${bc.metadata.name}: source image ${ref} (oc start-build --from-dir)` });
      continue;
    }
    const kverArg = spec.strategy?.dockerStrategy?.buildArgs?.find((a) => a.name === 'KVER')?.value;
    // No KVER build arg (tracking): the Dockerfile reads the kernel from the driver-toolkit
    // it runs on, the cluster's openshift/driver-toolkit:latest — moved by upgrades only.
    const kver = kverArg ?? c.dtkKernel.kver;
    if (built.get(id) === kver && c.registry.has(ref)) continue;
    await c.buildImage(kver, `BuildConfig/${bc.metadata.name}`, ref, 'dtk');
    built.set(id, kver); // a failed build is not retried until something changes, as on OpenShift
  }
}

function isSourceBuild(bc: K8sObject): boolean {
  const dockerfile = (bc.spec as BuildConfigSpec | undefined)?.source?.dockerfile ?? '';
  return /^FROM scratch$/m.test(dockerfile) && !/FROM \$\{?DTK/.test(dockerfile);
}
