/**
 * The Kubernetes objects of the KMM method:
 * - the operator install through OLM (Namespace, OperatorGroup, Subscription; KMM
 *   install docs — the CSV supports the AllNamespaces install mode only, hence an
 *   OperatorGroup without targetNamespaces);
 * - in the driver's namespace: a ServiceAccount allowed to use the `privileged` SCC
 *   (outside openshift-kmm, KMM runs worker pods with the Module's
 *   `moduleLoader.serviceAccountName`, and the namespace's `default` SA may not run
 *   them), the Dockerfile ConfigMap and the Module.
 */
import { moduleFile, type DriverSpec } from '../../driver/spec.js';
import { UserError } from '../../errors.js';
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { ANNOTATION_INSTALL_PHASE, standardLabels } from '../../labels.js';
import { kernelFamilyRegexp } from '../../release/kernel.js';
import type { Release } from '../../release/release.js';
import type { RenderOptions } from '../method.js';
import type { KmmForms } from './versions.js';
import type { RuntimeStage } from '../os-family.js';
import { kmmDockerfile } from './containerfile.js';
import { kmmModprobe } from './modprobe.js';
import {
  CATALOG_NAMESPACE,
  CATALOG_SOURCE,
  KERNEL_VAR,
  KMM_API,
  MODULES_DIR,
  OPERATOR_CHANNEL,
  OPERATOR_NAMESPACE,
  OPERATOR_PACKAGE,
  type KmmNames,
} from './names.js';

/** Matches every kernel: used when the release's kernel is unknown. */
export const ANY_KERNEL_REGEXP = '^.+$';

function meta(driver: DriverSpec, component: string, name: string, namespace?: string, day1 = false): K8sObject['metadata'] {
  const m: K8sObject['metadata'] = { name };
  if (namespace) m.namespace = namespace;
  m.labels = standardLabels(driver.name, 'kmm', component, driver.version);
  if (day1) m.annotations = { [ANNOTATION_INSTALL_PHASE]: 'day1' };
  return m;
}

/** Namespace, OperatorGroup, Subscription (in that order). */
export function operatorObjects(driver: DriverSpec, day1: boolean): K8sObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: meta(driver, 'operator', OPERATOR_NAMESPACE, undefined, day1) },
    {
      apiVersion: 'operators.coreos.com/v1',
      kind: 'OperatorGroup',
      metadata: meta(driver, 'operator', OPERATOR_PACKAGE, OPERATOR_NAMESPACE, day1),
    },
    {
      apiVersion: 'operators.coreos.com/v1alpha1',
      kind: 'Subscription',
      metadata: meta(driver, 'operator', OPERATOR_PACKAGE, OPERATOR_NAMESPACE, day1),
      spec: {
        channel: OPERATOR_CHANNEL,
        installPlanApproval: 'Automatic',
        name: OPERATOR_PACKAGE,
        source: CATALOG_SOURCE,
        sourceNamespace: CATALOG_NAMESPACE,
      },
    },
  ];
}

export function driverNamespace(driver: DriverSpec, names: KmmNames): K8sObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: meta(driver, 'driver', names.namespace) };
}

/** ServiceAccount for the worker pods, Role `use` on SCC privileged, RoleBinding. */
export function workerRbac(driver: DriverSpec, names: KmmNames): K8sObject[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(driver, 'worker', names.serviceAccount, names.namespace) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(driver, 'worker', names.sccRole, names.namespace),
      rules: [
        {
          apiGroups: ['security.openshift.io'],
          resources: ['securitycontextconstraints'],
          resourceNames: ['privileged'],
          verbs: ['use'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(driver, 'worker', names.sccRoleBinding, names.namespace),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.sccRole },
      subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace: names.namespace }],
    },
  ];
}

export function dockerfileConfigMap(driver: DriverSpec, names: KmmNames, runtime: RuntimeStage): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(driver, 'build', names.dockerfileConfigMap, names.namespace),
    data: { dockerfile: kmmDockerfile(driver, names, runtime) },
  };
}

function basename(p: string): string {
  return p.split('/').pop()!;
}

/**
 * Paths inside the kmod image to sign. From KMM 2.6 the kernel directory is a glob
 * (`*`): the image holds exactly one, and KMM substitutes `${KERNEL_FULL_VERSION}` in
 * filesToSign with the normalized version (`+` → `_`), which is not the directory name
 * for 4.16+ realtime kernels (`…+rt`); 2.6 expands the globs with the shell (KMM
 * secure_boot docs). Before 2.6 KMM copies each entry literally, so the paths name the
 * kernel directory with `${KERNEL_FULL_VERSION}` (see versions.ts).
 * Paths given in the driver spec: absolute ones are kept (they must be under /opt/),
 * relative ones are relative to the kernel directory.
 */
export function filesToSign(driver: DriverSpec, forms: Pick<KmmForms, 'filesToSignGlobs' | 'chosenBy'>): string[] {
  const kernelDir = `${MODULES_DIR}/lib/modules/${forms.filesToSignGlobs ? '*' : KERNEL_VAR}`;
  const given = driver.signing?.filesToSign;
  if (!given) return driver.modules.map((m) => `${kernelDir}/extra/${basename(moduleFile(m))}`);
  return given.map((f) => {
    const path = f.startsWith('/') ? f : `${kernelDir}/${f}`;
    if (!path.startsWith(`${MODULES_DIR}/`)) {
      throw new UserError(
        `signing.filesToSign: "${f}" is outside ${MODULES_DIR}/: KMM only signs files under modprobe.dirName (${MODULES_DIR}); the modules are in ${MODULES_DIR}/lib/modules/${KERNEL_VAR}/extra/`,
      );
    }
    if (!forms.filesToSignGlobs && /[*?[]/.test(path)) {
      throw new UserError(
        `signing.filesToSign: "${f}" is a glob, which ${forms.chosenBy} copies literally (globs need KMM 2.6 or later): name the file, or render with --kmm-version 2.6 or later`,
      );
    }
    return path;
  });
}

export interface ModuleInputs {
  driver: DriverSpec;
  release: Release;
  options: RenderOptions;
  names: KmmNames;
  /** Secret with registry credentials (external registry only). */
  imageRepoSecret?: string;
  forms: KmmForms;
}

/** The kernelMappings regexp: the release's kernel family, or every kernel when it is unknown. */
export function kernelRegexp(release: Release): string {
  return release.kernelVersion ? kernelFamilyRegexp(release.kernelVersion) : ANY_KERNEL_REGEXP;
}

export function moduleObject({ driver, release, options, names, imageRepoSecret, forms }: ModuleInputs): K8sObject {
  const mapping: Record<string, unknown> = {
    regexp: kernelRegexp(release),
    containerImage: `${names.imageRepo}:${names.imageTagTemplate}`,
    build: { dockerfileConfigMap: { name: names.dockerfileConfigMap } },
  };
  if (driver.signing) {
    // No unsignedImage: KMM ignores it when the mapping has a build (the build pushes the
    // unsigned image to containerImage, the sign step overwrites it with the signed one).
    mapping.sign = {
      keySecret: { name: driver.signing.keySecret },
      certSecret: { name: driver.signing.certSecret },
      filesToSign: filesToSign(driver, forms),
    };
  }
  const container: Record<string, unknown> = {
    modprobe: kmmModprobe(driver),
    imagePullPolicy: 'IfNotPresent',
    kernelMappings: [mapping],
  };
  if (driver.inTreeModulesToRemove.length > 0) {
    // As written: the worker only unloads a module whose file (`^<name>.ko`) it finds under
    // /lib/modules, and in-tree file names keep their '-' (e.g. nvme-core.ko.xz).
    if (forms.inTreeField === 'inTreeModulesToRemove') {
      container.inTreeModulesToRemove = [...driver.inTreeModulesToRemove];
    } else if (driver.inTreeModulesToRemove.length === 1) {
      container.inTreeModuleToRemove = driver.inTreeModulesToRemove[0];
    } else {
      throw new UserError(
        `${forms.chosenBy}: KMM ${forms.version} removes one in-tree module (inTreeModuleToRemove), the driver lists ${driver.inTreeModulesToRemove.length} (inTreeModulesToRemove: ${driver.inTreeModulesToRemove.join(', ')}); a list needs KMM 2.1 or later`,
      );
    }
  }
  return {
    apiVersion: KMM_API,
    kind: 'Module',
    metadata: meta(driver, 'module', names.moduleName, names.namespace),
    spec: {
      moduleLoader: { serviceAccountName: names.serviceAccount, container },
      ...(imageRepoSecret ? { imageRepoSecret: { name: imageRepoSecret } } : {}),
      // KMM 2.6+: bump it to make KMM re-check (and rebuild missing) images.
      ...(forms.imageRebuildTrigger ? { imageRebuildTriggerGeneration: 1 } : {}),
      selector: { [`node-role.kubernetes.io/${options.pool}`]: '' },
    },
  };
}

/**
 * An example `PreflightValidationOCP` for the README (cluster-scoped; it builds and signs
 * for the release an upgrade goes to, it never loads). Not a rendered manifest: its
 * values exist only once the target release is chosen. Fields per KMM version: versions.ts.
 */
export function preflightValidationExample(forms: KmmForms): K8sObject {
  const spec: Record<string, unknown> =
    forms.preflight.fields === 'kernelVersion'
      ? { kernelVersion: '<kernel of the new release>', dtkImage: '<oc adm release info <new release> --image-for=driver-toolkit>', pushBuiltImage: true }
      : { releaseImage: '<new release image, e.g. quay.io/openshift-release-dev/ocp-release:4.y.z-x86_64>', useRTKernel: false, pushBuiltImage: true };
  return { apiVersion: forms.preflight.apiVersion, kind: 'PreflightValidationOCP', metadata: { name: 'preflight' }, spec };
}
