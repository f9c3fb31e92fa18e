/**
 * kmodlab as a library: the boundary types (with their run-time schemas) and the
 * functions behind `kmodlab render`.
 */
import './methods/all.js';

export { UserError, ExitCode } from './errors.js';
export {
  DriverSpecSchema,
  canonicalModuleName,
  moduleNames,
  type DriverSpec,
  type DriverSpecInput,
  type DriverModule,
} from './driver/spec.js';
export { loadDriver, parseDriverSpec, type LoadedDriver } from './driver/load.js';
export { REFERENCE_DRIVER_DIR, REFERENCE_DRIVER_FILE } from './driver/reference.js';
export { ReleaseSchema, type Release, type ReleaseInput } from './release/release.js';
export { parseKernelVersion, kernelFamilyRegexp, type KernelVersion } from './release/kernel.js';
export { resolveRelease } from './release/resolve.js';
export { parseReleaseInfo } from './release/release-info.js';
export {
  ArtifactSetSchema,
  ArtifactSchema,
  K8sObjectSchema,
  METHOD_IDS,
  allObjects,
  artifactText,
  writeArtifactSet,
  type Artifact,
  type ArtifactSet,
  type K8sObject,
  type MethodId,
} from './artifacts/artifact-set.js';
export { RenderOptionsSchema, FEATURE_KEYS, type Method, type RenderOptions, type FeatureFact } from './methods/method.js';
export { allMethods, getMethod, registerMethod } from './methods/index.js';
export { METHOD_ROW_IDS, methodRow, rowIdOf, type MethodRow, type MethodRowId } from './methods/rows.js';
export { renderMethods } from './methods/render.js';
export { toYaml, toYamlStream } from './yaml.js';
export {
  CheckReportSchema,
  KernelCheckSchema,
  DependencySchema,
  CHECK_STEPS,
  checkFailed,
  toJUnitXml,
  formatMatrix,
  type CheckReport,
  type KernelCheck,
  type Dependency,
  type CheckStep,
  type CellStatus,
} from './check/index.js';
