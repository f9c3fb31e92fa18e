/**
 * KMM releases and the forms of the fields that differ between them.
 *
 * Which KMM an OpenShift release gets: the Subscription follows channel `stable`, which
 * installs the newest KMM the cluster's `redhat-operators` catalog offers. Red Hat
 * ships one KMM minor with each OpenShift minor and keeps it on the later ones; the
 * table below is the KMM minor first shipped with each OpenShift minor. It is derived
 * from the cut dates of the release branches of the downstream repository
 * (github.com/rh-ecosystem-edge/kernel-module-management, branches release-2.0 …
 * release-2.7: 2023-10, 2024-03, 2024-09, 2024-09, 2025-06, 2025-09, 2026-03, 2026-07)
 * against the OpenShift GA dates, and from the product docs ("supported on OpenShift
 * 4.12 and later", docs.redhat.com … specialized_hardware_and_driver_enablement,
 * kernel-module-management-operator). The authoritative matrix is Red Hat's "OpenShift
 * Operator Life Cycles" page (https://access.redhat.com/support/policy/updates/openshift_operators);
 * `--kmm-version` overrides this default when a cluster runs another KMM.
 *
 * Field forms (each checked in the API types / templates of the release branches):
 * - `sign.filesToSign` globs: release-2.6 signs with a shell loop `for file in /opt<path>`
 *   (internal/buildsign/resource/templates/Dockerfile.gotmpl); up to 2.5 each entry is
 *   a `COPY` of that exact path, so a `*` is taken literally and nothing is signed.
 * - `spec.imageRebuildTriggerGeneration`: added in 2.6 (api/v1beta1/module_types.go).
 * - `PreflightValidationOCP`: `releaseImage` + `useRTKernel` up to 2.3, `kernelVersion`
 *   + `dtkImage` from 2.4 (api/v1beta2/preflightvalidationocp_types.go); v1beta1 only in 2.0.
 * - `inTreeModulesToRemove` (list): from 2.1 (commit b8120751 "changing inTreeRemoval
 *   to support multiple modules", on release-2.1); 2.0 has only `inTreeModuleToRemove`.
 */
import { UserError } from '../../errors.js';
import { minorVersion, type Release } from '../../release/release.js';

export const KMM_VERSIONS = ['2.0', '2.1', '2.2', '2.3', '2.4', '2.5', '2.6', '2.7'] as const;
export type KmmVersion = (typeof KMM_VERSIONS)[number];
export const NEWEST_KMM: KmmVersion = KMM_VERSIONS[KMM_VERSIONS.length - 1]!;

/** OpenShift minor → the KMM minor first shipped with it (see above); later minors keep the last entry. */
export const KMM_FOR_OPENSHIFT: readonly (readonly [ocpMinor: number, kmm: KmmVersion])[] = [
  [12, '2.0'],
  [13, '2.0'],
  [14, '2.0'],
  [15, '2.0'],
  [16, '2.1'],
  [17, '2.2'],
  [18, '2.3'],
  [19, '2.4'],
  [20, '2.5'],
  [21, '2.6'],
  [22, '2.7'],
];

export function kmmAtLeast(v: KmmVersion, min: KmmVersion): boolean {
  return KMM_VERSIONS.indexOf(v) >= KMM_VERSIONS.indexOf(min);
}

/** The newest KMM that supports the release's OpenShift version (newest known when the version is unknown). */
export function defaultKmmVersion(release: Release): KmmVersion {
  const v = minorVersion(release);
  if (!v || v[0] !== 4) return NEWEST_KMM;
  let found: KmmVersion | undefined;
  for (const [minor, kmm] of KMM_FOR_OPENSHIFT) if (minor <= v[1]) found = kmm;
  return found ?? KMM_VERSIONS[0];
}

/** `--kmm-version`: `2.4`, `2.4.1` or `v2.4.0` → `2.4`; anything else is a UserError naming the flag. */
export function parseKmmVersion(value: string): KmmVersion {
  const m = /^v?(\d+)\.(\d+)(\.\d+)?$/.exec(value.trim());
  const minor = m ? `${m[1]}.${m[2]}` : undefined;
  if (!minor || !(KMM_VERSIONS as readonly string[]).includes(minor)) {
    throw new UserError(`--kmm-version ${value}: expected a KMM release ${KMM_VERSIONS[0]} … ${NEWEST_KMM} (e.g. 2.4 or 2.4.1)`, 'oc get csv -n openshift-kmm shows the installed KMM version');
  }
  return minor as KmmVersion;
}

export function resolveKmmVersion(release: Release, flag: string | undefined): { version: KmmVersion; defaulted: boolean; chosenBy: string } {
  if (flag !== undefined) {
    const version = parseKmmVersion(flag);
    return { version, defaulted: false, chosenBy: `--kmm-version ${flag}` };
  }
  const version = defaultKmmVersion(release);
  const ocp = minorVersion(release);
  const why = ocp ? `the default for OpenShift ${ocp.join('.')}` : 'the default when the OpenShift version is unknown';
  return { version, defaulted: true, chosenBy: `KMM ${version} (${why}; set --kmm-version to the cluster's KMM)` };
}

/** What the rendered files use from one KMM version. */
export interface KmmForms {
  version: KmmVersion;
  /** How the version was chosen, for error messages: `--kmm-version 2.0` or `KMM 2.0 (default for OpenShift 4.14; --kmm-version …)`. */
  chosenBy: string;
  /** `sign.filesToSign` may hold globs (`*`). */
  filesToSignGlobs: boolean;
  /** The Module carries `spec.imageRebuildTriggerGeneration`. */
  imageRebuildTrigger: boolean;
  /** `inTreeModulesToRemove` (list) or the single `inTreeModuleToRemove`. */
  inTreeField: 'inTreeModulesToRemove' | 'inTreeModuleToRemove';
  /** Spec fields of `PreflightValidationOCP`. */
  preflight: { apiVersion: string; fields: 'releaseImage' | 'kernelVersion' };
}

export function kmmForms(version: KmmVersion, chosenBy = `--kmm-version ${version}`): KmmForms {
  return {
    version,
    chosenBy,
    filesToSignGlobs: kmmAtLeast(version, '2.6'),
    imageRebuildTrigger: kmmAtLeast(version, '2.6'),
    inTreeField: kmmAtLeast(version, '2.1') ? 'inTreeModulesToRemove' : 'inTreeModuleToRemove',
    preflight: {
      apiVersion: kmmAtLeast(version, '2.1') ? 'kmm.sigs.x-k8s.io/v1beta2' : 'kmm.sigs.x-k8s.io/v1beta1',
      fields: kmmAtLeast(version, '2.4') ? 'kernelVersion' : 'releaseImage',
    },
  };
}

/**
 * The oldest KMM that understands the rendered Module: the version whose forms first
 * match the ones used (only the forms the driver actually needs count).
 */
export function minimumKmmVersion(forms: KmmForms, uses: { signing: boolean; inTreeModules: number }): KmmVersion {
  let min: KmmVersion = KMM_VERSIONS[0];
  const raise = (v: KmmVersion) => {
    if (kmmAtLeast(v, min)) min = v;
  };
  if (forms.imageRebuildTrigger) raise('2.6');
  if (uses.signing && forms.filesToSignGlobs) raise('2.6');
  if (uses.inTreeModules > 0 && forms.inTreeField === 'inTreeModulesToRemove') raise('2.1');
  return min;
}
