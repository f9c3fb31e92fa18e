/**
 * The OpenShift release render tests use: every fact given (digests, not placeholders),
 * so a rendered set is what `oc apply` would get.
 */
import { ReleaseSchema, type Release } from '../../src/release/release.js';

export const TEST_KVER = '5.14.0-284.52.1.el9_2.x86_64';
const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';

export function testRelease(version = '4.14.12'): Release {
  return ReleaseSchema.parse({ version, kernelVersion: TEST_KVER, driverToolkitImage: `${ART}@sha256:${'d'.repeat(64)}`, rhcosImage: `${ART}@sha256:${'c'.repeat(64)}`, sources: {} });
}
