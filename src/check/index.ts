/** The build-and-load matrix over kernels (`kmodlab check`). */
export { runCheck, selectKernels, type CheckOptions } from './run-check.js';
export { toJUnitXml } from './junit.js';
export { formatMatrix } from './matrix.js';
export {
  CheckReportSchema,
  KernelCheckSchema,
  DependencySchema,
  CHECK_STEPS,
  checkFailed,
  type CheckReport,
  type KernelCheck,
  type Dependency,
  type CheckStep,
  type CellStatus,
} from './report.js';
