/**
 * build.sh for the off-cluster variant: podman build with the release's images, push with
 * --digestfile, and write `<repository>@<digest>` into the MachineConfig's osImageURL, so
 * the MachineConfig always pins what was pushed (a tag could move between node pulls).
 */
import type { DriverSpec } from '../../driver/spec.js';
import type { ReleaseFacts } from '../../release/placeholders.js';
import { rhcosImageFor, type LayeringNames } from './images.js';

export const DIGEST_FILE = 'image-digest.txt';

/** `sourceDir`: where the driver source was when rendered; the default build context. */
export function buildScript(driver: DriverSpec, facts: ReleaseFacts, names: LayeringNames, machineConfigFile: string, sourceDir?: string): string {
  const pathSource = 'path' in driver.source;
  const os = rhcosImageFor(facts.release);
  const contextLine = pathSource
    ? sourceDir !== undefined
      ? `context="\${1:-${sourceDir.replace(/[\\"$`]/g, '\\$&')}}"   # the driver source directory (where kmodlab read it)`
      : 'context="${1:?usage: $0 <driver source directory> (the directory with the Makefile)}"'
    : 'context="${1:-$here}"   # the driver is fetched with git; any directory will do';
  // Build secrets: the key is mounted for the signing RUN only, never in a layer.
  const signing = driver.signing
    ? `for v in SIGNING_KEY SIGNING_CERT; do
  [[ -s "\${!v:-}" ]] || { echo "build.sh: $v must name the module signing \${v#SIGNING_} file (see README.md, Secure Boot)" >&2; exit 2; }
done
build+=(--secret "id=key,src=$SIGNING_KEY" --secret "id=cert,src=$SIGNING_CERT")`
    : '';
  return `#!/usr/bin/env bash
# kmodlab: build the layered RHCOS image for ${driver.name} ${driver.version}, push it, and pin
# its digest in ${machineConfigFile}. See README.md.
#
# Usage: ./build.sh ${pathSource ? (sourceDir !== undefined ? '[driver source directory]' : '<driver source directory>') : '[build context]'}
# Environment (defaults are the rendered release's):
#   IMAGE        image to build and push          (${names.osImageRepo}:${names.osImageTag})
#   RHCOS_IMAGE  base OS image: oc adm release info <release> --image-for=${os.tag}${os.note ? ` ${os.note}` : ''}
#   DTK_IMAGE    driver-toolkit: oc adm release info <release> --image-for=driver-toolkit
#   AUTHFILE     pull secret for the release images (e.g. pull-secret.json); push
#                credentials come from 'podman login <registry>'${driver.signing ? `
#   SIGNING_KEY  private key file the modules are signed with (build secret, never in the image)
#   SIGNING_CERT its certificate (DER or PEM)` : ''}
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
${contextLine}
IMAGE="\${IMAGE:-${names.osImageRepo}:${names.osImageTag}}"
RHCOS_IMAGE="\${RHCOS_IMAGE:-${facts.rhcosImage}}"
DTK_IMAGE="\${DTK_IMAGE:-${facts.driverToolkitImage}}"

for v in IMAGE RHCOS_IMAGE DTK_IMAGE; do
  case "\${!v}" in
    *FILL_ME*) echo "build.sh: $v is a placeholder (\${!v}): set $v or re-render with kmodlab (see README.md)" >&2; exit 2 ;;
  esac
done

# The repository part of IMAGE (without :tag), for <repository>@<digest>.
last="\${IMAGE##*/}"
if [[ "$last" == *:* ]]; then repo="\${IMAGE%:*}"; else repo="$IMAGE"; fi

build=(podman build -f "$here/Containerfile" -t "$IMAGE"
  --build-arg "RHCOS_IMAGE=$RHCOS_IMAGE" --build-arg "DTK_IMAGE=$DTK_IMAGE")
if [[ -n "\${AUTHFILE:-}" ]]; then build+=(--authfile "$AUTHFILE"); fi
${signing}
"\${build[@]}" "$context"

podman push --digestfile "$here/${DIGEST_FILE}" "$IMAGE"
digest="$(cat "$here/${DIGEST_FILE}")"

sed -i -E "s|^([[:space:]]*osImageURL:).*|\\\\1 $repo@$digest|" "$here/${machineConfigFile}"
grep -qF "osImageURL: $repo@$digest" "$here/${machineConfigFile}" || { echo "build.sh: ${machineConfigFile} has no osImageURL line to pin $repo@$digest in" >&2; exit 1; }
echo "build.sh: pushed $repo@$digest and wrote it to ${machineConfigFile}"
`;
}
