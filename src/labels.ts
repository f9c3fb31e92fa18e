/** The labels every rendered object carries, so users (and kmodlab) can find them. */
import type { MethodId } from './artifacts/artifact-set.js';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_VERSION = 'app.kubernetes.io/version';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_METHOD = 'kmodlab.io/method';
/** Annotation on Day-1 objects: they belong in the installer's `openshift/` directory. */
export const ANNOTATION_INSTALL_PHASE = 'kmodlab.io/install-phase';
export const FIELD_MANAGER = 'kmodlab';

export function standardLabels(driverName: string, method: MethodId, component?: string, version?: string): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL_MANAGED_BY]: 'kmodlab',
    [LABEL_NAME]: driverName,
    [LABEL_PART_OF]: 'kmodlab',
    [LABEL_METHOD]: method,
  };
  if (component) labels[LABEL_COMPONENT] = component;
  if (version) labels[LABEL_VERSION] = version;
  return labels;
}
