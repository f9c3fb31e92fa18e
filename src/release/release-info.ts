/**
 * Reads the release facts kmodlab needs from a saved `oc adm release info` output, in
 * either of the forms a user is likely to keep:
 *
 * 1. The text form, `oc adm release info <release>` (the same layout as release.txt on
 *    mirror.openshift.com). oc prints it with a tabwriter (openshift/oc
 *    pkg/cli/admin/release/info.go, describeReleaseInfo):
 *
 *        Name:           4.12.22
 *        Digest:         sha256:…
 *        …
 *        Pull From: quay.io/openshift-release-dev/ocp-release@sha256:…
 *
 *        Release Metadata:
 *          Version:  4.12.22
 *          Upgrades: …
 *
 *        Component Versions:
 *          kubernetes 1.25.10
 *          machine-os 412.86.202306132230-0 Red Hat Enterprise Linux CoreOS
 *
 *        Images:
 *          NAME             DIGEST              (or PULL SPEC with --pullspecs)
 *          driver-toolkit   sha256:…
 *
 *    In the DIGEST column oc prints only the digest of each reference (the full
 *    reference only when it has no digest); the repository is dropped. It is not in
 *    the text and cannot be derived from `Pull From:` by any oc rule. The one case where
 *    it is known is a release published by Red Hat at quay.io/openshift-release-dev/ocp-release:
 *    ART promotes every payload component to the single repository
 *    quay.io/openshift-release-dev/ocp-v4.0-art-dev (openshift-eng/aos-cd-jobs
 *    jobs/build/promote/README.md), which is what `--pullspecs` and `--image-for` print
 *    for such releases. Anywhere else (CI/nightly payloads, custom payloads whose tags
 *    come from several repositories) the pull spec stays unknown.
 *
 * 2. The JSON form, `oc adm release info -o json <release>`: `metadata.version`,
 *    `references.spec.tags[]` (`name`, `from.name`, `annotations`), `displayVersions`,
 *    and, with `--include-images`, `images.<tag>.config.config.Labels`.
 *
 * Where each fact is in a 4.12–4.19 release:
 * - version: Release Metadata Version / `metadata.version`.
 * - RHCOS build: the `machine-os` component version, which ART puts in the
 *   `io.openshift.build.versions` annotation of the OS image tag (`machine-os=412.86.…`);
 *   oc shows it under Component Versions / `displayVersions`. The driver-toolkit
 *   imagestream tag on a cluster is the same string.
 * - OS image: tag `rhel-coreos` (4.13+), `rhel-coreos-8` on 4.12 (openshift/machine-config-operator
 *   install/image-references on release-4.12 vs release-4.13). `machine-os-content` is the
 *   old-format OS content, not a base image for layering, and is not used.
 * - driver-toolkit image: tag `driver-toolkit`.
 * - kernel: NOT in the text form nor in the tag annotations of an OCP release (the
 *   annotation carries `machine-os=` only; oc allows a `kernel` component for OKD, and its
 *   values must be semantic versions, which an `.el9_2.x86_64` kernel is not). It is an
 *   image label: `ostree.linux` on the rhel-coreos image, visible in `-o json --include-images`;
 *   driver-toolkit images from release-4.23/5.0 on also carry `kernel-version` and
 *   `kernel-rt-version` labels. Otherwise the kernel stays unknown and the renderer uses a
 *   placeholder.
 *
 * Not in any OpenShift release, read for the lab's (src/targets/lab/images/release-info.ts):
 * - runtime base image: tag `runtime-base` (an OpenShift release has no ubi-minimal tag);
 * - node OS family: annotation `io.kmodlab.os-family` on the release's image stream
 *   (`references.metadata.annotations`). Without it the release is rhcos, as every
 *   OpenShift release is.
 */
import { UserError } from '../errors.js';
import { isPlausibleKernelVersion, parseKernelVersion } from './kernel.js';
import type { ReleaseInput } from './release.js';

export const EXPECTED_RELEASE_INFO =
  'expected the output of `oc adm release info <release>` (optionally with --pullspecs) or `oc adm release info -o json <release>`';

/** The repository Red Hat publishes OpenShift release images to. */
export const OFFICIAL_RELEASE_REPOSITORY = 'quay.io/openshift-release-dev/ocp-release';
/** The repository every component of a release published there is referenced from. */
export const OFFICIAL_COMPONENT_REPOSITORY = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';

/** OS image tags, most recent name first: `rhel-coreos` (4.13+), `rhel-coreos-8` (4.12). */
export const RHCOS_TAGS = ['rhel-coreos', 'rhel-coreos-8'] as const;
export type RhcosTag = (typeof RHCOS_TAGS)[number];

/**
 * The release's tag for its OS image, for `oc adm release info --image-for=<tag>`: the tag
 * the release info named, else by version (`rhel-coreos-8` up to 4.12, `rhel-coreos` from
 * 4.13; openshift/machine-config-operator `install/image-references` on release-4.12 vs
 * release-4.13). Undefined when neither is known.
 */
export function rhcosTagOf(release: Pick<ReleaseInput, 'version' | 'sources'>): RhcosTag | undefined {
  const source = release.sources?.rhcosImage ?? '';
  // `\b(?!-)`: `rhel-coreos` must not match inside `rhel-coreos-8` or `rhel-coreos-extensions`.
  const named = RHCOS_TAGS.find((t) => new RegExp(`(tag|Images) ${t}\\b(?!-)`).test(source));
  if (named) return named;
  const m = /^(\d+)\.(\d+)\./.exec(release.version ?? '');
  if (!m) return undefined;
  return Number(m[1]) === 4 && Number(m[2]) <= 12 ? 'rhel-coreos-8' : 'rhel-coreos';
}

export const DTK_TAG = 'driver-toolkit';
/** The lab release's minimal runtime base (no OpenShift release has this tag). */
export const RUNTIME_BASE_TAG = 'runtime-base';
/** Image stream annotation naming the nodes' OS family (lab releases only). */
export const ANNOTATION_OS_FAMILY = 'io.kmodlab.os-family';

const ANNOTATION_BUILD_VERSIONS = 'io.openshift.build.versions';
const LABEL_OSTREE_LINUX = 'ostree.linux';
const LABEL_DTK_KERNEL = 'kernel-version';
const LABEL_DTK_RT_KERNEL = 'kernel-rt-version';

type Sources = Record<string, string>;

/**
 * Parses a saved `oc adm release info` output (text, with or without --pullspecs, or
 * `-o json`). Facts that are not in it stay undefined; nothing is guessed. `where` names
 * the file in messages and in `sources`.
 */
export function parseReleaseInfo(text: string, where: string): ReleaseInput {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') throw new UserError(`release info ${where}: the file is empty; ${EXPECTED_RELEASE_INFO}`);
  if (/^\s*[{[]/.test(body)) return parseJsonForm(body, where);
  return parseTextForm(body, where);
}

// ---------------------------------------------------------------------------------------
// JSON form

function parseJsonForm(body: string, where: string): ReleaseInput {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    throw new UserError(`release info ${where}: not valid JSON (${(e as Error).message}); ${EXPECTED_RELEASE_INFO}`);
  }
  const tagsValue = get(doc, 'references', 'spec', 'tags');
  const metadataVersion = str(get(doc, 'metadata', 'version'));
  if (!isRecord(doc) || (!Array.isArray(tagsValue) && metadataVersion === undefined)) {
    throw new UserError(
      `release info ${where}: JSON without references.spec.tags or metadata.version, so not a release description; ${EXPECTED_RELEASE_INFO}`,
    );
  }
  const src = (what: string) => `release-info ${where}: ${what}`;
  const out: ReleaseInput = {};
  const sources: Sources = {};

  const tags = new Map<string, JsonTag>();
  for (const t of Array.isArray(tagsValue) ? tagsValue : []) {
    const name = str(get(t, 'name'));
    if (name === undefined || tags.has(name)) continue;
    const kind = str(get(t, 'from', 'kind'));
    const annotations = get(t, 'annotations');
    tags.set(name, {
      name,
      pullSpec: kind === undefined || kind === 'DockerImage' ? nonEmpty(str(get(t, 'from', 'name'))) : undefined,
      versions: parseBuildVersions(isRecord(annotations) ? str(annotations[ANNOTATION_BUILD_VERSIONS]) : undefined),
    });
  }
  const labelsOf = (tag: string): Record<string, unknown> | undefined => {
    const labels = get(doc, 'images', tag, 'config', 'config', 'Labels');
    return isRecord(labels) ? labels : undefined;
  };

  // Version: metadata.version (what oc prints as Name), else the image stream's name.
  const streamName = str(get(doc, 'references', 'metadata', 'name'));
  if (metadataVersion !== undefined) set(out, sources, 'version', metadataVersion, src('metadata.version'));
  else if (streamName !== undefined && looksLikeVersion(streamName)) set(out, sources, 'version', streamName, src('references.metadata.name'));

  // OS image and its build.
  const rhcosTag = RHCOS_TAGS.map((n) => tags.get(n)).find((t) => t !== undefined);
  if (rhcosTag?.pullSpec !== undefined) set(out, sources, 'rhcosImage', rhcosTag.pullSpec, src(`references tag ${rhcosTag.name}`));
  const machineOsOnTag = rhcosTag?.versions.get('machine-os');
  const displayMachineOs = str(get(doc, 'displayVersions', 'machine-os', 'Version'));
  if (machineOsOnTag !== undefined) {
    set(out, sources, 'rhcosVersion', machineOsOnTag, src(`tag ${rhcosTag!.name} annotation ${ANNOTATION_BUILD_VERSIONS} machine-os`));
  } else if (displayMachineOs !== undefined) {
    set(out, sources, 'rhcosVersion', displayMachineOs, src('displayVersions machine-os'));
  }

  // driver-toolkit image.
  const dtkTag = tags.get(DTK_TAG);
  if (dtkTag?.pullSpec !== undefined) set(out, sources, 'driverToolkitImage', dtkTag.pullSpec, src(`references tag ${DTK_TAG}`));

  // Runtime base and OS family: only a lab release names them.
  const baseTag = tags.get(RUNTIME_BASE_TAG);
  if (baseTag?.pullSpec !== undefined) set(out, sources, 'runtimeBaseImage', baseTag.pullSpec, src(`references tag ${RUNTIME_BASE_TAG}`));
  const family = str(get(doc, 'references', 'metadata', 'annotations', ANNOTATION_OS_FAMILY));
  if (family !== undefined) set(out, sources, 'osFamily', family, src(`references.metadata.annotations ${ANNOTATION_OS_FAMILY}`));

  // Kernel: image labels (--include-images) first, then a kernel/kernel-rt component version.
  const kernelCandidates: Array<[string | undefined, string]> = [];
  const rtCandidates: Array<[string | undefined, string]> = [];
  if (rhcosTag !== undefined) {
    kernelCandidates.push([str(labelsOf(rhcosTag.name)?.[LABEL_OSTREE_LINUX]), `image ${rhcosTag.name} label ${LABEL_OSTREE_LINUX} (--include-images)`]);
  }
  kernelCandidates.push([str(labelsOf(DTK_TAG)?.[LABEL_DTK_KERNEL]), `image ${DTK_TAG} label ${LABEL_DTK_KERNEL} (--include-images)`]);
  rtCandidates.push([str(labelsOf(DTK_TAG)?.[LABEL_DTK_RT_KERNEL]), `image ${DTK_TAG} label ${LABEL_DTK_RT_KERNEL} (--include-images)`]);
  const annotated = [dtkTag, rhcosTag, ...tags.values()].filter((t): t is JsonTag => t !== undefined);
  for (const t of annotated) {
    kernelCandidates.push([t.versions.get('kernel'), `tag ${t.name} annotation ${ANNOTATION_BUILD_VERSIONS} kernel`]);
    rtCandidates.push([t.versions.get('kernel-rt'), `tag ${t.name} annotation ${ANNOTATION_BUILD_VERSIONS} kernel-rt`]);
  }
  kernelCandidates.push([str(get(doc, 'displayVersions', 'kernel', 'Version')), 'displayVersions kernel']);
  rtCandidates.push([str(get(doc, 'displayVersions', 'kernel-rt', 'Version')), 'displayVersions kernel-rt']);
  pickKernel(out, sources, 'kernelVersion', kernelCandidates, src);
  pickKernel(out, sources, 'rtKernelVersion', rtCandidates, src);

  out.sources = sources;
  return out;
}

interface JsonTag {
  name: string;
  pullSpec: string | undefined;
  versions: Map<string, string>;
}

// ---------------------------------------------------------------------------------------
// Text form

type Section = 'header' | 'metadata' | 'components' | 'images' | 'other';

function parseTextForm(body: string, where: string): ReleaseInput {
  const lines = body.split(/\r?\n/);
  let name: string | undefined;
  let pullFrom: string | undefined;
  let metadataVersion: string | undefined;
  const components = new Map<string, string>();
  const images = new Map<string, string>();
  let imagesColumn: 'DIGEST' | 'PULL SPEC' | undefined;
  let section: Section = 'header';
  let sawName = false;
  let sawBody = false;

  for (const line of lines) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      // A top-level line: a header field or a section title.
      let m: RegExpExecArray | null;
      if ((m = /^Name:\s+(\S+)\s*$/.exec(line))) {
        name ??= m[1];
        sawName = true;
        section = 'header';
      } else if (/^Name:\s+\S+\s+\S+/.test(line) || /^Images (Changed|Rebuilt|Added|Removed):/.test(line)) {
        throw new UserError(
          `release info ${where}: this is a comparison of two releases (oc adm release info A B / --changes-from); ${EXPECTED_RELEASE_INFO} for a single release`,
        );
      } else if ((m = /^Pull From:\s+(\S+)\s*$/.exec(line))) {
        pullFrom = m[1];
        sawBody = true;
      } else if (/^Release Metadata:\s*$/.test(line)) {
        section = 'metadata';
        sawBody = true;
      } else if (/^Component Versions:\s*$/.test(line)) {
        section = 'components';
        sawBody = true;
      } else if (/^Images:\s*$/.test(line)) {
        section = 'images';
        sawBody = true;
      } else if (/^[A-Z][A-Za-z/ ]*:/.test(line)) {
        section = section === 'header' ? 'header' : 'other';
      }
      continue;
    }
    const cols = line.trim().split(/\s+/);
    switch (section) {
      case 'metadata':
        if (cols[0] === 'Version:' && cols[1] !== undefined) metadataVersion ??= cols[1];
        break;
      case 'components':
        // "  machine-os 412.86.202306132230-0 Red Hat Enterprise Linux CoreOS"
        if (cols.length >= 2 && !components.has(cols[0]!)) components.set(cols[0]!, cols[1]!);
        break;
      case 'images':
        if (cols[0] === 'NAME') {
          const header = cols.slice(1).join(' ');
          imagesColumn = header === 'DIGEST' || header === 'PULL SPEC' ? header : undefined;
        } else if (imagesColumn !== undefined && cols.length === 2 && !images.has(cols[0]!)) {
          images.set(cols[0]!, cols[1]!);
        }
        break;
      default:
        break;
    }
  }

  if (!sawName || !sawBody) {
    throw new UserError(
      `release info ${where}: no "Name:" line followed by "Pull From:", "Release Metadata:" or "Images:", so not a release description; ${EXPECTED_RELEASE_INFO}`,
    );
  }

  const src = (what: string) => `release-info ${where}: ${what}`;
  const out: ReleaseInput = {};
  const sources: Sources = {};

  if (metadataVersion !== undefined) set(out, sources, 'version', metadataVersion, src('Release Metadata Version'));
  else if (name !== undefined && looksLikeVersion(name)) set(out, sources, 'version', name, src('Name'));

  const machineOs = components.get('machine-os');
  if (machineOs !== undefined) set(out, sources, 'rhcosVersion', machineOs, src('Component Versions machine-os'));
  pickKernel(out, sources, 'kernelVersion', [[components.get('kernel'), 'Component Versions kernel']], src);
  pickKernel(out, sources, 'rtKernelVersion', [[components.get('kernel-rt'), 'Component Versions kernel-rt']], src);

  const componentRepo = officialComponentRepository(pullFrom);
  const pullSpecFor = (tag: string): [string, string] | undefined => {
    const value = images.get(tag);
    if (value === undefined) return undefined;
    if (value.includes('/')) return [value, src(`Images ${tag} (${imagesColumn})`)];
    if (/^sha256:[a-f0-9]{64}$/.test(value) && componentRepo !== undefined) {
      return [
        `${componentRepo}@${value}`,
        src(`Images ${tag} digest, in ${componentRepo} (where releases published at ${OFFICIAL_RELEASE_REPOSITORY} keep their components)`),
      ];
    }
    return undefined; // a bare digest of a release from elsewhere: the repository is unknown
  };
  const rhcosTag = RHCOS_TAGS.find((t) => images.has(t));
  const rhcos = rhcosTag !== undefined ? pullSpecFor(rhcosTag) : undefined;
  if (rhcos) set(out, sources, 'rhcosImage', rhcos[0], rhcos[1]);
  const dtk = pullSpecFor(DTK_TAG);
  if (dtk) set(out, sources, 'driverToolkitImage', dtk[0], dtk[1]);

  out.sources = sources;
  return out;
}

/**
 * `quay.io/openshift-release-dev/ocp-release@sha256:…` → the repository its components are
 * referenced from; undefined for a release pulled from anywhere else (a mirror, CI).
 */
function officialComponentRepository(pullFrom: string | undefined): string | undefined {
  if (pullFrom === undefined) return undefined;
  const repo = pullFrom.replace(/@sha256:[a-f0-9]+$/, '').replace(/:[\w][\w.-]*$/, '');
  return repo === OFFICIAL_RELEASE_REPOSITORY ? OFFICIAL_COMPONENT_REPOSITORY : undefined;
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/** `machine-os=412.86.202306132230-0,kubernetes=1.25.10` → map (oc's io.openshift.build.versions syntax). */
function parseBuildVersions(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (value ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    const key = pair.slice(0, i).trim();
    const v = pair.slice(i + 1).trim();
    if (key !== '' && v !== '' && !out.has(key)) out.set(key, v);
  }
  return out;
}

/**
 * Takes the first candidate that is a whole `uname -r` string (distribution and
 * architecture recognisable). Component versions are semantic versions in which oc drops
 * "+build" suffixes, so a `kernel-rt` value must still show it is a realtime kernel.
 */
function pickKernel(
  out: ReleaseInput,
  sources: Sources,
  field: 'kernelVersion' | 'rtKernelVersion',
  candidates: Array<[string | undefined, string]>,
  src: (what: string) => string,
): void {
  for (const [value, what] of candidates) {
    if (value === undefined || value === '' || !isPlausibleKernelVersion(value)) continue;
    const k = parseKernelVersion(value);
    const whole = k.distro !== 'other' || /\.(x86_64|aarch64|ppc64le|s390x)(\+[a-z0-9]+)?$/.test(value);
    if (!whole) continue;
    if (field === 'rtKernelVersion' && k.flavour !== 'realtime') continue;
    set(out, sources, field, value, src(what));
    return;
  }
}

/** Sets a fact as read; ReleaseSchema checks the value (osFamily against the known families) afterwards. */
function set(out: ReleaseInput, sources: Sources, field: Exclude<keyof ReleaseInput, 'sources'>, value: string, source: string): void {
  (out as Record<string, unknown>)[field] = value;
  sources[field] = source;
}

function looksLikeVersion(s: string): boolean {
  return /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(s);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const p of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
