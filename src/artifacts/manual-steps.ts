/**
 * The steps a rendered README tells a person to do besides `oc apply` (building and
 * pushing an image off-cluster, feeding a binary build, pinning a digest), read from
 * the artifact set itself. Every target records them as `manual-step` events, whether
 * it performs them for the user (the lab) or leaves them to the user (a cluster), so the
 * same scenario gives the same count on every target.
 */
import { allObjects, type ArtifactPhase, type ArtifactSet, type K8sObject } from './artifact-set.js';

export interface ManualStep {
  description: string;
  /** What a person would run. */
  command: string;
}

/** Objects that make the cluster build the image itself (no off-cluster build needed). */
function buildsInCluster(o: K8sObject): boolean {
  if (o.kind === 'BuildConfig' || o.kind === 'MachineOSConfig') return true;
  // A KMM Module with a build section builds in the cluster (kernelMappings[].build or container.build).
  return o.kind === 'Module' && /"build":/.test(JSON.stringify(o.spec ?? {}));
}

/**
 * Steps for the objects of `phase` (day2: applied to a running cluster; day1: the
 * installer manifests). `sourceDir` is the driver's source directory, where the
 * README's commands read it.
 */
export function manualStepsOf(set: ArtifactSet, phase: Extract<ArtifactPhase, 'day1' | 'day2'>, sourceDir = '<driver source dir>'): ManualStep[] {
  const steps: ManualStep[] = [];
  const objects = allObjects(set, phase);
  const builds = set.files.filter((f) => f.phase === 'build');
  if (!objects.some(buildsInCluster) && builds.length > 0) {
    const script = builds.find((f) => f.executable);
    if (script) steps.push({ description: `run ${script.path}: build the image off-cluster, push it and pin its digest`, command: `./${script.path}` });
    else {
      for (const f of builds.filter((x) => /^Containerfile/.test(x.path))) {
        steps.push({ description: `build ${f.path} off-cluster and push the image the manifests pull`, command: `podman build -f ${f.path} ${sourceDir} && podman push <image>` });
      }
    }
  }
  // On-cluster layering builds in the cluster, but a path driver's source reaches that
  // build as an image the README has you build and push first (Containerfile.source).
  const source = builds.find((f) => f.path === 'Containerfile.source');
  if (source && objects.some((o) => o.kind === 'MachineOSConfig')) {
    steps.push({ description: `build ${source.path} off-cluster and push the source image the MachineOSConfig's build copies from`, command: `podman build -f ${source.path} -t <source image> ${sourceDir} && podman push <source image>` });
  }
  // A binary BuildConfig never starts by itself: the README's `oc start-build --from-dir` feeds it.
  for (const o of objects) {
    const source = (o.spec as { source?: { type?: string } } | undefined)?.source;
    if (o.kind === 'BuildConfig' && source?.type === 'Binary') {
      steps.push({ description: `start the binary build ${o.metadata.name} with the driver source`, command: `oc start-build ${o.metadata.name} -n ${o.metadata.namespace ?? '<namespace>'} --from-dir=${sourceDir} --follow` });
    }
  }
  return steps;
}
