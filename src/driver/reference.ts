/** The bundled reference driver (drivers/simple-kmod), the default when --driver is omitted. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/driver → project root is two levels up; the same holds for dist/driver. */
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const REFERENCE_DRIVER_DIR = path.join(PROJECT_ROOT, 'drivers', 'simple-kmod');
export const REFERENCE_DRIVER_FILE = path.join(REFERENCE_DRIVER_DIR, 'driver.yaml');
