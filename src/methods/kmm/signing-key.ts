/**
 * The OpenSSL request config the README's `openssl req -config x509.conf` reads to create
 * the module signing key pair. Same shape as the kernel's own `certs/x509.genkey`
 * (Documentation/admin-guide/module-signing.rst, "Generating signing keys") and the RHEL
 * guide "Signing a kernel and modules for Secure Boot": a self-signed, non-CA certificate
 * for digital signatures. Holds no secret: the key is created from it on the user's machine.
 */
import type { DriverSpec } from '../../driver/spec.js';

export const SIGNING_CONFIG_FILE = 'x509.conf';

export function signingKeyConfig(driver: DriverSpec): string {
  return [
    `# OpenSSL config for the module signing key of ${driver.name} (kmodlab, method kmm).`,
    `#   openssl req -x509 -new -nodes -utf8 -sha256 -days 36500 -batch -config ${SIGNING_CONFIG_FILE} -outform DER -out signing_key_pub.der -keyout signing_key.priv`,
    '# Change O and CN to your organisation before creating the key.',
    '[ req ]',
    'default_bits = 4096',
    'distinguished_name = req_distinguished_name',
    'prompt = no',
    'string_mask = utf8only',
    'x509_extensions = myexts',
    '',
    '[ req_distinguished_name ]',
    `O = ${driver.name}`,
    `CN = ${driver.name} kernel module signing key`,
    '',
    '[ myexts ]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = digitalSignature',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n');
}
