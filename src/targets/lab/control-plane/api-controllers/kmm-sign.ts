/**
 * KMM's sign step in the lab (the Module's `spec.moduleLoader.container.sign` and
 * `kernelMappings[].sign`), with the semantics of the KMM the lab's catalog serves (2.7):
 *   - the sign config of a kernel: the container's, with the mapping's unsignedImage,
 *     keySecret and certSecret overriding it and its filesToSign appended; the kernel
 *     variables in unsignedImage and filesToSign are filled with the normalized kernel
 *     version (`+` → `_`) (kubernetes-sigs/kernel-module-management
 *     internal/module/kernelmapper.go getRelevantSign; internal/kernel/kernel.go);
 *   - the image to sign: with a build, the built image itself — 2.7 builds straight to
 *     containerImage and the sign step overwrites it with the signed one; without a
 *     build, sign.unsignedImage (internal/buildsign/resource/common.go makeSignTemplate).
 *     KMM up to 2.6 built to an intermediate image instead, named by AppendToTag(image,
 *     "<namespace>_<module>_kmm_unsigned") (joined with `_` when the reference has any
 *     `:` — a tag or a registry port —, else with `:`; internal/module/helper.go
 *     IntermediateImageName of v2.0.0 … v2.6.0),
 *     which commit 9d626f4 "Remove intermediate image when we have both build and sign"
 *     (upstream; 16971c49 in rh-ecosystem-edge/kernel-module-management, on main before
 *     release-2.7 was cut) removed. Either way the worker only ever gets containerImage,
 *     and only once the sign step succeeded (2.7: internal/controllers/mic_reconciler.go,
 *     build Success + sign section → NeedsSigning; sign Success → Exists);
 *   - the sign step is an OpenShift Build, as KMM on OpenShift makes it
 *     (rh-ecosystem-edge/kernel-module-management internal/buildsign/resource/common.go
 *     signSpec, volumes.go makeSignResourceVolumes): strategy Docker, source the sign
 *     Dockerfile (templates/Dockerfile.gotmpl: FROM the unsigned image, a stage that
 *     copies dirName out and runs `sign-file sha256` on every filesToSign path, COPY
 *     back), build volumes `key` and `cert` from the two Secrets mounted at
 *     /run/secrets/key and /run/secrets/cert (data keys `key` and `cert`,
 *     internal/constants PrivateSignDataKey/PublicSignDataKey), output DockerImage =
 *     containerImage;
 *   - the Secrets are read before the sign Build is made (getSignHashAnnotationValue):
 *     a missing Secret, or one without its data key, stops the sign there; KMM logs
 *     "failed to get private secret <name> for signing: …" and retries.
 * Lab stand-ins: the signing stage runs FROM the node kernel's driver-toolkit image and
 * its kernel build tree's `scripts/sign-file` (KMM runs its own sign image,
 * RELATED_IMAGE_SIGN, whose sign-file is built from kernel headers too); the unsigned
 * image is named by the digest its Build pushed (KMM names the tag it just pushed). The
 * missing-Secret message is also recorded as a Warning event on the Module — upstream
 * says it only in the operator's log, which kubectl cannot read from the lab.
 * Key material never leaves the API and the build volumes: not in a log, event or layer.
 */
import type { V1Secret } from '@kubernetes/client-node';

export interface SecretRef {
  name: string;
}
export interface SignSpec {
  unsignedImage?: string;
  keySecret?: SecretRef;
  certSecret?: SecretRef;
  filesToSign?: string[];
}

/** Secret data keys of the key and the certificate (KMM internal/constants). */
export const SIGN_KEY_DATA_KEY = 'key';
export const SIGN_CERT_DATA_KEY = 'cert';
/** Where the sign Build's volumes mount the two Secrets. */
const SECRETS_DIR = '/run/secrets';

/**
 * The kernel version as KMM fills it into image names and labels (internal/kernel/kernel.go
 * NormalizeVersion, kubernetes-sigs/kernel-module-management#824): every character an image
 * tag or a label value cannot hold (`+` in Debian's 6.12.117+deb12-amd64) becomes `_`.
 */
export function normalizeKernel(kver: string): string {
  return kver.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The kernel variables KMM fills into sign fields (the normalized version). */
function fillKernel(s: string, kver: string): string {
  const v = normalizeKernel(kver);
  return s.replaceAll('${KERNEL_FULL_VERSION}', v).replaceAll('${KERNEL_VERSION}', v);
}

/** The sign config for a kernel (getRelevantSign), or undefined when neither level signs. */
export function signFor(container: SignSpec | undefined, mapping: SignSpec | undefined, kver: string): SignSpec | undefined {
  if (!container && !mapping) return undefined;
  const s: SignSpec = { ...(container ?? mapping) };
  if (container && mapping) {
    if (mapping.unsignedImage) s.unsignedImage = mapping.unsignedImage;
    if (mapping.keySecret) s.keySecret = mapping.keySecret;
    if (mapping.certSecret) s.certSecret = mapping.certSecret;
    s.filesToSign = [...(container.filesToSign ?? []), ...(mapping.filesToSign ?? [])];
  }
  return { ...s, ...(s.unsignedImage ? { unsignedImage: fillKernel(s.unsignedImage, kver) } : {}), filesToSign: (s.filesToSign ?? []).map((f) => fillKernel(f, kver)) };
}

/**
 * Why the Secrets cannot be used (KMM's error text: which Secret, which key), or
 * undefined when both hold their data key. Never quotes the data.
 */
export function secretsProblem(ns: string, sign: SignSpec, key: V1Secret | undefined, cert: V1Secret | undefined): string | undefined {
  const check = (what: 'private' | 'public', ref: SecretRef | undefined, s: V1Secret | undefined, dataKey: string) => {
    if (!ref?.name) return `sign.${what === 'private' ? 'keySecret' : 'certSecret'} is not set`;
    if (!s) return `failed to get ${what} secret ${ref.name} for signing: failed to get Secret ${ns}/${ref.name}: secrets "${ref.name}" not found`;
    if (!s.data?.[dataKey] && !s.stringData?.[dataKey]) return `failed to get ${what} secret ${ref.name} for signing: invalid Secret ${ns}/${ref.name} format, ${dataKey} key is missing`;
    return undefined;
  };
  return check('private', sign.keySecret, key, SIGN_KEY_DATA_KEY) ?? check('public', sign.certSecret, cert, SIGN_CERT_DATA_KEY);
}

/**
 * The sign Dockerfile (KMM's Dockerfile.gotmpl): the signing stage copies dirName out of
 * the unsigned image, signs each filesToSign path (a shell glob from 2.6 on), and the
 * result is the unsigned image with dirName replaced by the signed copy. `signImage` is
 * the kernel's driver-toolkit, whose build tree has sign-file.
 */
export function signDockerfile(o: { unsignedImage: string; signImage: string; kver: string; dirName: string; filesToSign: string[] }): string {
  const signFile = `/lib/modules/${o.kver}/build/scripts/sign-file`;
  return [
    `FROM ${o.unsignedImage} AS source`,
    '',
    `FROM ${o.signImage} AS signimage`,
    'USER 0',
    `COPY --from=source ${o.dirName} /opt${o.dirName}`,
    ...o.filesToSign.map(
      (f) =>
        `RUN for file in /opt${f}; do \\\n      [ -e "\${file}" ] && ${signFile} sha256 ${SECRETS_DIR}/key/${SIGN_KEY_DATA_KEY} ${SECRETS_DIR}/cert/${SIGN_CERT_DATA_KEY} "\${file}"; \\\n    done`,
    ),
    '',
    'FROM source',
    `COPY --from=signimage /opt${o.dirName} ${o.dirName}`,
    '',
  ].join('\n');
}

/** The sign Build's volumes: the two Secrets, mounted read-only at /run/secrets/{key,cert} (makeSignResourceVolumes). */
export function signBuildVolumes(sign: SignSpec): Record<string, unknown>[] {
  return [
    ['key', sign.keySecret!.name],
    ['cert', sign.certSecret!.name],
  ].map(([name, secretName]) => ({
    name,
    source: { type: 'Secret', secret: { secretName, optional: false } },
    mounts: [{ destinationPath: `${SECRETS_DIR}/${name}` }],
  }));
}
