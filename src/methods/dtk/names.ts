/**
 * Names and image references of the dtk method, derived once from the driver and the
 * options so that manifests, Containerfiles and README all say the same thing.
 */
import type { DriverSpec } from '../../driver/spec.js';
import { dnsLabel } from '../../names.js';
import type { RenderOptions } from '../method.js';

/** The cluster's internal image registry, as pods and builds reach it. */
export const INTERNAL_REGISTRY = 'image-registry.openshift-image-registry.svc:5000';

/** The cluster's driver-toolkit ImageStream (release payload manifest; tag `latest` follows the release). */
export const CLUSTER_DTK_NAMESPACE = 'openshift';
export const CLUSTER_DTK_IMAGESTREAM = 'driver-toolkit';
export const CLUSTER_DTK_TAG = 'latest';
/** The cluster DTK pulled through the internal registry (tracking builds use it). */
export const CLUSTER_DTK_PULL_SPEC = `${INTERNAL_REGISTRY}/${CLUSTER_DTK_NAMESPACE}/${CLUSTER_DTK_IMAGESTREAM}:${CLUSTER_DTK_TAG}`;

export interface DtkNames {
  namespace: string;
  /** ImageStream (and image repository) of the driver container image. */
  imageStream: string;
  buildConfig: string;
  /** ImageStream / BuildConfig of the source image (tracking, `source.path` drivers). */
  sourceImageStream: string;
  sourceBuildConfig: string;
  serviceAccount: string;
  role: string;
  roleBinding: string;
  daemonSet: string;
  container: string;
  /** Secret the user creates for an external registry (`--registry`). */
  registrySecret: string;
}

export function dtkNames(driver: DriverSpec, options: RenderOptions): DtkNames {
  const container = dnsLabel(driver.name, 'driver-container');
  return {
    // Its own namespace (not KMM's `kmodlab-<driver>`): `oc delete -f .` in dtk/ deletes
    // this Namespace, and with it everything in it.
    namespace: options.namespace ?? dnsLabel('kmodlab', driver.name, 'dtk'),
    imageStream: container,
    buildConfig: dnsLabel(driver.name, 'driver-build'),
    sourceImageStream: dnsLabel(driver.name, 'driver-source'),
    sourceBuildConfig: dnsLabel(driver.name, 'driver-source-build'),
    serviceAccount: container,
    role: container,
    roleBinding: container,
    daemonSet: container,
    container,
    registrySecret: dnsLabel(driver.name, 'registry'),
  };
}

/**
 * An image tag for a kernel version: tags allow `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, so
 * RHEL kernels (`5.14.0-284.52.1.el9_2.x86_64`) stay as they are and other characters
 * (`+` in Debian's `6.12.57+deb12-amd64`) become `_`.
 */
export function kernelTag(kver: string): string {
  const t = kver.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.-]+/, '');
  return (t || 'kernel').slice(0, 128);
}

/** Image repository (no tag) of the driver container: internal registry unless `--registry`. */
export function driverImageRepository(names: DtkNames, registry: string | undefined): string {
  return registry ? `${registry}/${names.imageStream}` : `${INTERNAL_REGISTRY}/${names.namespace}/${names.imageStream}`;
}

/** Internal-registry pull spec of the source image (tracking, `source.path` drivers). */
export function sourceImagePullSpec(names: DtkNames): string {
  return `${INTERNAL_REGISTRY}/${names.namespace}/${names.sourceImageStream}:latest`;
}

/** RHEL major version of a RHEL kernel (`….el9_2.x86_64` → 9), for the matching UBI base image. */
export function rhelMajor(kver: string | undefined): number | undefined {
  const m = /\.el(\d+)(?:_\d+)?\./.exec(kver ?? '');
  return m ? Number(m[1]) : undefined;
}
