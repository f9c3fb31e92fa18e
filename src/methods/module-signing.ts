/**
 * Signing a driver's modules for Secure Boot nodes, in a build stage, with the key and
 * certificate given only at build time — never written into an image layer. One
 * concept, used by every method that builds its own image (layering, dtk); KMM signs in
 * the cluster itself (`Module.spec.moduleLoader.container.sign`) but its Day-1 signing
 * Containerfile and README steps can use the same pieces.
 *
 * The secrets follow KMM's convention (kernel-module-management docs, "Adding the keys
 * for secureboot"): Secret `signing.keySecret` has the private key under key `key`,
 * Secret `signing.certSecret` the public certificate under key `cert`.
 *
 * Where the key comes from, by builder:
 * - `podman-secret` (podman/buildah off-cluster builds): `RUN --mount=type=secret,id=key`
 *   mounts `podman build --secret id=key,src=<file>` at `/run/secrets/key` for that one
 *   RUN only; the file is not part of any layer (buildah `--secret`, Containerfile
 *   `RUN --mount=type=secret`, `required=true` so a forgotten `--secret` fails the build
 *   instead of shipping unsigned modules).
 * - `build-volumes` (OpenShift BuildConfig, docker strategy): `dockerStrategy.volumes`
 *   mounts each Secret read-only into buildah's RUN environment, transiently — "the
 *   transient mount within the build image and the backing volume will both be mounted
 *   read only" (openshift/api build/v1 BuildVolumeMount) and build volumes are not
 *   persisted in the output image (OpenShift docs, Builds, "Using build volumes").
 *   `spec.source.secrets` is NOT used: for the docker strategy it copies the files into
 *   the build context, where a Dockerfile must COPY them into a layer.
 * In both, signing happens in the builder stage; the final stage copies only the signed
 * `.ko` files, so even the builder stage's filesystem never reaches the shipped image.
 */
import type { DriverSpec } from '../driver/spec.js';
import { BUILD_OUT } from './driver-build.js';

export type SigningSecretSource = 'podman-secret' | 'build-volumes';

/** Secret data keys, as KMM's keySecret/certSecret. */
export const SIGNING_KEY_DATA_KEY = 'key';
export const SIGNING_CERT_DATA_KEY = 'cert';

/** Where build volumes mount the two Secrets (directories holding `key` and `cert`). */
const VOLUME_DIR = '/run/kmodlab-signing';

interface SigningPaths {
  key: string;
  cert: string;
  /** The RUN instruction's flags. */
  runFlags: string;
}

function pathsFor(source: SigningSecretSource): SigningPaths {
  if (source === 'podman-secret') {
    return {
      key: `/run/secrets/${SIGNING_KEY_DATA_KEY}`,
      cert: `/run/secrets/${SIGNING_CERT_DATA_KEY}`,
      runFlags: `--mount=type=secret,id=${SIGNING_KEY_DATA_KEY},required=true --mount=type=secret,id=${SIGNING_CERT_DATA_KEY},required=true `,
    };
  }
  return { key: `${VOLUME_DIR}/key/${SIGNING_KEY_DATA_KEY}`, cert: `${VOLUME_DIR}/cert/${SIGNING_CERT_DATA_KEY}`, runFlags: '' };
}

export interface SigningLinesOptions {
  source: SigningSecretSource;
  /** As `buildLines`: a file holding the kernel version when KVER is not an ARG/ENV. */
  kverFile?: string;
}

/**
 * Containerfile lines for the builder stage, after `buildLines`: sign every module under
 * BUILD_OUT with the kernel tree's `sign-file` (the driver-toolkit image carries it and
 * openssl), then check that each one now has a signer. Empty when the driver asks for no
 * signing.
 */
export function signingLines(driver: DriverSpec, opts: SigningLinesOptions): string[] {
  if (!driver.signing) return [];
  const p = pathsFor(opts.source);
  const kver = opts.kverFile ? `KVER="$(cat ${opts.kverFile})"; ` : '';
  return [
    `# Sign the modules (Secure Boot). Key and certificate are build-time secrets, mounted for this RUN only.`,
    `RUN ${p.runFlags}set -eu; ${kver}\\`,
    `    SIGN_FILE="/usr/src/kernels/$KVER/scripts/sign-file"; [ -x "$SIGN_FILE" ] || SIGN_FILE="/lib/modules/$KVER/build/scripts/sign-file"; \\`,
    `    for f in ${p.key} ${p.cert}; do [ -s "$f" ] || { echo "kmodlab: signing: $f is missing (see README.md, Secure Boot)" >&2; exit 1; }; done; \\`,
    `    for ko in ${BUILD_OUT}/lib/modules/$KVER/extra/*.ko; do \\`,
    `      "$SIGN_FILE" sha256 ${p.key} ${p.cert} "$ko"; \\`,
    `      signer="$(modinfo -F signer "$ko")"; [ -n "$signer" ] || { echo "kmodlab: $ko is not signed" >&2; exit 1; }; \\`,
    `      echo "kmodlab: signed $ko (signer: $signer)"; done`,
  ];
}

/** BuildConfig `spec.strategy.dockerStrategy.volumes` that provide the key and certificate. */
export function signingBuildVolumes(driver: DriverSpec): Record<string, unknown>[] {
  if (!driver.signing) return [];
  return [
    { name: 'signing-key', source: { type: 'Secret', secret: { secretName: driver.signing.keySecret } }, mounts: [{ destinationPath: `${VOLUME_DIR}/key` }] },
    { name: 'signing-cert', source: { type: 'Secret', secret: { secretName: driver.signing.certSecret } }, mounts: [{ destinationPath: `${VOLUME_DIR}/cert` }] },
  ];
}

/** `podman build` flags that hand the key and certificate files to the signing RUN. */
export function podmanSecretFlags(keyFile: string, certFile: string): string[] {
  return [`--secret id=${SIGNING_KEY_DATA_KEY},src=${keyFile}`, `--secret id=${SIGNING_CERT_DATA_KEY},src=${certFile}`];
}

/** x509.conf for `openssl req -config` (a code-signing certificate as the kernel's docs make one). */
export function x509Config(driver: DriverSpec): string {
  return [
    '# kmodlab: certificate request for signing the kernel modules of ' + driver.name,
    '# (kernel docs, admin-guide/module-signing: "Generating signing keys").',
    '[ req ]',
    'default_bits = 4096',
    'distinguished_name = req_distinguished_name',
    'prompt = no',
    'string_mask = utf8only',
    'x509_extensions = myexts',
    '',
    '[ req_distinguished_name ]',
    `CN = ${driver.name} module signing key`,
    '',
    '[ myexts ]',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=digitalSignature',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    '',
  ].join('\n');
}

/**
 * README lines (Markdown): make a key pair (once), keep it out of every image and
 * artifact, enroll the certificate on the nodes, and verify.
 */
export interface SigningReadmeOptions {
  /** Namespace of the key/cert Secrets: adds the `oc create secret` commands. */
  namespace?: string;
  /** Adds the `podman build --secret` form. */
  podman?: boolean;
  verifyCommand: string;
  /** Section heading (a method with numbered steps gives its own). */
  heading?: string;
  /** Who signs, replacing the builder-stage paragraph (KMM signs in the cluster itself). */
  signedBy?: string;
  /** Sentence introducing the Secrets (default: the in-cluster build's build volumes). */
  secretsUse?: string;
}

/** Files the README's key-pair command writes (the private key and the DER certificate). */
export const SIGNING_KEY_FILE = 'signing_key.priv';
export const SIGNING_CERT_FILE = 'signing_key.der';
export const X509_CONFIG_FILE = 'x509.conf';

export function signingReadme(driver: DriverSpec, how: SigningReadmeOptions): string[] {
  if (!driver.signing) return [];
  const { keySecret, certSecret } = driver.signing;
  const lines = [
    how.heading ?? '## Secure Boot: signing the modules',
    '',
    how.signedBy ??
      `The driver spec asks for signed modules. The builder stage signs them with the kernel tree's \`sign-file\`; the key and the certificate are build-time secrets, mounted only while that step runs, and never stored in an image layer (the shipped image holds only the signed \`.ko\` files).`,
    '',
    'Make a key pair once (`x509.conf` is in this directory) and keep `signing_key.priv` secret — do not commit it or leave it in a build context:',
    '',
    '```sh',
    `openssl req -new -nodes -utf8 -sha256 -days 36500 -batch -x509 -config ${X509_CONFIG_FILE} \\`,
    `  -outform DER -out ${SIGNING_CERT_FILE} -keyout ${SIGNING_KEY_FILE}`,
    '```',
    '',
  ];
  if (how.namespace) {
    lines.push(
      `${how.secretsUse ?? 'In-cluster builds read them'} from the Secrets \`${keySecret}\` (data key \`${SIGNING_KEY_DATA_KEY}\`) and \`${certSecret}\` (data key \`${SIGNING_CERT_DATA_KEY}\`)${how.secretsUse ? '' : ', mounted as build volumes'}:`,
      '',
      '```sh',
      `oc create secret generic ${keySecret} -n ${how.namespace} --from-file=${SIGNING_KEY_DATA_KEY}=${SIGNING_KEY_FILE}`,
      `oc create secret generic ${certSecret} -n ${how.namespace} --from-file=${SIGNING_CERT_DATA_KEY}=${SIGNING_CERT_FILE}`,
      '```',
      '',
    );
  }
  if (how.podman) {
    lines.push(
      'Builds with podman take them as build secrets (`RUN --mount=type=secret`):',
      '',
      '```sh',
      `podman build ${podmanSecretFlags(SIGNING_KEY_FILE, SIGNING_CERT_FILE).join(' ')} …`,
      '```',
      '',
    );
  }
  lines.push(
    'Nodes with Secure Boot load the modules only if the certificate is trusted: enroll `signing_key.der` in each node\'s MOK list (`mokutil --import signing_key.der`, then confirm at the next boot\'s MOK manager console) or in the firmware\'s db. Without it the kernel refuses them (`Key was rejected by service`). Check the signature of a loaded module:',
    '',
    '```sh',
    how.verifyCommand,
    '```',
    '',
  );
  return lines;
}
