/**
 * The objects of the layering method: a per-pool MachineConfig overriding
 * `spec.osImageURL` (off-cluster, Day 1 and Day 2) or a MachineOSConfig that has the
 * MCO build and roll out the image (on-cluster). Both are cluster-scoped.
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import { ANNOTATION_INSTALL_PHASE, standardLabels } from '../../labels.js';
import type { RenderOptions } from '../method.js';
import type { LayeringNames } from './images.js';
import { MACHINE_OS_CONFIG_API } from './support.js';

export const MCO_NAMESPACE = 'openshift-machine-config-operator';
export const ROLE_LABEL = 'machineconfiguration.openshift.io/role';

export function machineConfig(driver: DriverSpec, names: LayeringNames, options: RenderOptions, osImageURL: string): K8sObject {
  const metadata: K8sObject['metadata'] = {
    name: names.machineConfigName,
    labels: {
      ...standardLabels(driver.name, 'layering', 'os-image', driver.version),
      // The pool whose MachineConfigSelector picks this MachineConfig up.
      [ROLE_LABEL]: options.pool,
    },
  };
  if (options.day1) metadata.annotations = { [ANNOTATION_INSTALL_PHASE]: 'day1' };
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfig',
    metadata,
    spec: { osImageURL },
  };
}

export function machineOSConfig(
  driver: DriverSpec,
  names: LayeringNames,
  options: RenderOptions,
  containerfile: string,
  renderedImagePushSpec: string,
): K8sObject {
  return {
    apiVersion: MACHINE_OS_CONFIG_API,
    kind: 'MachineOSConfig',
    metadata: {
      // The API requires the name to equal the pool's: one MachineOSConfig per pool.
      name: options.pool,
      labels: standardLabels(driver.name, 'layering', 'os-image-build', driver.version),
    },
    spec: {
      machineConfigPool: { name: options.pool },
      containerFile: [{ containerfileArch: 'NoArch', content: containerfile }],
      imageBuilder: { imageBuilderType: 'Job' },
      baseImagePullSecret: { name: names.baseImagePullSecretName },
      renderedImagePushSecret: { name: names.pushSecretName },
      renderedImagePushSpec,
    },
  };
}
