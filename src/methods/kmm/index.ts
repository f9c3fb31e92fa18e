/**
 * The Kernel Module Management (KMM) method: the operator (OLM), a Dockerfile ConfigMap
 * and a `Module` that makes KMM build an image per node kernel (DTK_AUTO) and load it
 * with one-shot worker pods; optionally signed; with `--day1`, KMM's Day-1 form (a
 * MachineConfig whose systemd units load a prebuilt image before the network starts).
 */
import type { Artifact, ArtifactSet } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import { UserError } from '../../errors.js';
import { dnsLabel } from '../../names.js';
import { ReleaseFacts } from '../../release/placeholders.js';
import type { Release } from '../../release/release.js';
import { sourceImageContainerfile } from '../driver-build.js';
import type { Method, RenderOptions } from '../method.js';
import { runtimeStage } from '../os-family.js';
import { KMOD_BASE_IMAGE, kmmDockerfile, kmmSignContainerfile } from './containerfile.js';
import { day1MachineConfig } from './day1.js';
import { kmmFeatures } from './features.js';
import { dockerfileConfigMap, driverNamespace, filesToSign, moduleObject, operatorObjects, workerRbac } from './manifests.js';
import { kmmNames, OPERATOR_NAMESPACE } from './names.js';
import { droppedParameters, kmmModprobe } from './modprobe.js';
import { kmmReadme } from './readme.js';
import { X509_CONFIG_FILE, x509Config } from '../module-signing.js';
import { kmmForms, resolveKmmVersion } from './versions.js';

export const KMM_VARIANTS = ['in-cluster-build'] as const;

function render(driver: DriverSpec, release: Release, options: RenderOptions): ArtifactSet {
  const variant = options.variant ?? KMM_VARIANTS[0];
  if (!(KMM_VARIANTS as readonly string[]).includes(variant)) {
    throw new UserError(`--variant ${variant}: the kmm method has the variants ${KMM_VARIANTS.join(', ')}`);
  }
  const kmm = resolveKmmVersion(release, options.kmmVersion);
  const forms = kmmForms(kmm.version, kmm.chosenBy);
  const names = kmmNames(driver, options);
  const facts = new ReleaseFacts(release);
  const runtime = runtimeStage(facts, KMOD_BASE_IMAGE);
  const imageRepoSecret = names.registryIsInternal ? undefined : dnsLabel(driver.name, 'kmm-registry');
  const files: Artifact[] = [];

  const [opNamespace, operatorGroup, subscription] = operatorObjects(driver, options.day1);
  if (options.day1) {
    const prefix = `openshift/99_kmodlab-${driver.name}-kmm`;
    files.push(
      { path: `${prefix}-operator-namespace.yaml`, phase: 'day1', description: `Namespace ${OPERATOR_NAMESPACE} for the KMM operator (installer manifest)`, objects: [opNamespace!] },
      { path: `${prefix}-operatorgroup.yaml`, phase: 'day1', description: 'OperatorGroup of the KMM operator (all namespaces; installer manifest)', objects: [operatorGroup!] },
      { path: `${prefix}-subscription.yaml`, phase: 'day1', description: 'OLM Subscription to kernel-module-management (installer manifest)', objects: [subscription!] },
      {
        path: `${prefix}-machineconfig.yaml`,
        phase: 'day1',
        description: `MachineConfig (pool ${options.pool}): systemd units that load the prebuilt kmod image before network-pre.target`,
        objects: [day1MachineConfig(driver, names, options)],
      },
      { path: 'Containerfile', phase: 'build', description: "The Module's Dockerfile, to build the Day-1 image off-cluster with podman", content: kmmDockerfile(driver, names, runtime) },
    );
    if (driver.signing) {
      files.push({
        path: 'Containerfile.sign',
        phase: 'build',
        description: 'Signs the modules of the Day-1 image off-cluster (KMM signs only what it builds in the cluster)',
        // Our own build expands globs with its shell whatever the KMM version.
        content: kmmSignContainerfile(driver, filesToSign(driver, { filesToSignGlobs: true, chosenBy: kmm.chosenBy })),
      });
    }
  } else {
    files.push(
      { path: '00-operator-namespace.yaml', phase: 'day2', description: `Namespace ${OPERATOR_NAMESPACE} for the KMM operator`, objects: [opNamespace!] },
      { path: '01-operatorgroup.yaml', phase: 'day2', description: 'OperatorGroup of the KMM operator (all namespaces)', objects: [operatorGroup!] },
      { path: '02-subscription.yaml', phase: 'day2', description: 'OLM Subscription to kernel-module-management (redhat-operators, channel stable)', objects: [subscription!] },
    );
  }
  if ('path' in driver.source) {
    files.push({
      path: 'Containerfile.source',
      phase: 'build',
      description: `Source image ${names.sourceImage} (KMM's in-cluster build has no build context)`,
      content: sourceImageContainerfile(driver),
    });
  }
  if (driver.signing) {
    files.push({
      path: X509_CONFIG_FILE,
      phase: 'build',
      description: 'OpenSSL config for the signing key pair the README creates (no key in it)',
      content: x509Config(driver),
    });
  }
  const module = moduleObject({ driver, release, options, names, imageRepoSecret, forms });
  files.push(
    { path: '10-namespace.yaml', phase: 'day2', description: `Namespace ${names.namespace} for the driver's Module`, objects: [driverNamespace(driver, names)] },
    { path: '10-worker-rbac.yaml', phase: 'day2', description: 'ServiceAccount of the KMM worker pods, allowed to use the privileged SCC', objects: workerRbac(driver, names) },
    { path: '11-dockerfile-configmap.yaml', phase: 'day2', description: 'ConfigMap with the Dockerfile KMM builds per kernel (FROM ${DTK_AUTO})', objects: [dockerfileConfigMap(driver, names, runtime)] },
    { path: '12-module.yaml', phase: 'day2', description: `KMM Module ${names.moduleName}: kernel mapping, in-cluster build${driver.signing ? ', signing' : ''}, modprobe`, objects: [module] },
  );

  const readme = kmmReadme({ driver, facts, options, names, files, imageRepoSecret, forms, kmmVersionDefaulted: kmm.defaulted });
  files.push({ path: 'README.md', phase: 'doc', description: 'What this method does and every step to build, apply, verify, update and remove it', content: readme });

  const warnings = droppedParameters(driver).map(
    (d) =>
      `kmm: KMM passes modprobe parameters to ${kmmModprobe(driver).moduleName} only, so ${d.module}'s parameters (${d.words.join(' ')}) are not set${options.day1 ? ' by the Module (the Day-1 loader sets them)' : ''}; see kmm/README.md`,
  );
  return { method: 'kmm', variant, day1: options.day1, files, placeholders: facts.placeholders(), ...(warnings.length ? { warnings } : {}) };
}

export const kmmMethod: Method = {
  id: 'kmm',
  title: 'Kernel Module Management (KMM) operator',
  variants: KMM_VARIANTS,
  features: kmmFeatures,
  render,
};
