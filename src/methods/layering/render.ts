/** Rendering the layering method: variant and release checks, then the files of each variant. */
import type { Artifact, ArtifactSet } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import { UserError } from '../../errors.js';
import { standardLabels } from '../../labels.js';
import { ReleaseFacts, type Placeholder } from '../../release/placeholders.js';
import type { Release } from '../../release/release.js';
import { sourceImageContainerfile } from '../driver-build.js';
import { customMachineConfigPool, isCustomPool } from '../custom-pool.js';
import type { RenderOptions } from '../method.js';
import { x509Config } from '../module-signing.js';
import { buildScript } from './build-script.js';
import { CONTAINERFILE_CONTENT_MAX, offClusterContainerfile, onClusterContainerfile } from './containerfile.js';
import { layeringNames, REGISTRY_PLACEHOLDER, type LayeringNames } from './images.js';
import { machineConfig, machineOSConfig } from './manifests.js';
import { readme } from './readme.js';
import { onClusterSupport } from './support.js';

export const LAYERING_VARIANTS = ['off-cluster', 'on-cluster'] as const;
export type LayeringVariant = (typeof LAYERING_VARIANTS)[number];

export function layeringVariant(variant: string | undefined): LayeringVariant {
  if (variant === undefined) return LAYERING_VARIANTS[0];
  if ((LAYERING_VARIANTS as readonly string[]).includes(variant)) return variant as LayeringVariant;
  throw new UserError(`--variant ${variant}: unknown variant of method layering; expected one of ${LAYERING_VARIANTS.join(', ')}`);
}

/** The MachineOSConfig's CEL rules for renderedImagePushSpec (openshift/api machineconfiguration/v1). */
const PUSH_SPEC_FORMATS = [
  /^([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+(:[0-9]{2,5})?(\/[a-zA-Z0-9-_]{1,61})*\/[a-zA-Z0-9-_.]+:[a-zA-Z0-9._-]+$/,
  /^[^.]+\.[^.]+\.svc:\d+\/[^/]+\/[^/]+:[^/]+$/,
];

function placeholdersOf(facts: ReleaseFacts, names: LayeringNames): Placeholder[] {
  return [...facts.placeholders(), ...(names.registryIsPlaceholder ? [REGISTRY_PLACEHOLDER] : [])];
}

/** A custom pool's MachineConfigPool (none for worker/master), as the first file. */
function poolFile(driver: DriverSpec, options: RenderOptions): Artifact | undefined {
  if (!isCustomPool(options.pool)) return undefined;
  return {
    path: options.day1 ? `openshift/99_openshift-machineconfigpool_${options.pool}.yaml` : `00-machineconfigpool-${options.pool}.yaml`,
    phase: options.day1 ? 'day1' : 'day2',
    description: `MachineConfigPool ${options.pool}: the worker MachineConfigs plus role ${options.pool}, for nodes labelled node-role.kubernetes.io/${options.pool}`,
    objects: [customMachineConfigPool(options.pool, standardLabels(driver.name, 'layering', 'pool', driver.version), options.day1)],
  };
}

function withReadme(files: Artifact[], content: (all: Artifact[]) => string): Artifact[] {
  const entry: Artifact = { path: 'README.md', phase: 'doc', description: 'What these files do; build, apply, verify, update, upgrade, remove' };
  const all = [...files, entry];
  entry.content = content(all);
  return all;
}

function renderOffCluster(driver: DriverSpec, release: Release, options: RenderOptions): ArtifactSet {
  if (options.day1 && options.registry === undefined) {
    throw new UserError(
      '--day1 with layering needs --registry <prefix>: the nodes pull the layered OS image during installation, from a registry they can reach then (e.g. --registry quay.io/acme)',
    );
  }
  const facts = new ReleaseFacts(release);
  const names = layeringNames(driver, release, options);
  const osImageURL = options.layeredImage ?? `${names.osImageRepo}@sha256:${facts.use('layeredImageDigest')}`;
  const mcFile = options.day1
    ? `openshift/99_openshift-machineconfig_99-${options.pool}-kmodlab-${driver.name}.yaml`
    : `00-machineconfig-${options.pool}.yaml`;
  const pool = poolFile(driver, options);
  const files: Artifact[] = [
    ...(pool ? [pool] : []),
    {
      path: 'Containerfile',
      phase: 'build',
      description: "The layered OS image: the release's rhel-coreos plus the driver's modules, built in the driver-toolkit",
      content: offClusterContainerfile(driver, facts),
    },
    {
      path: 'build.sh',
      phase: 'build',
      description: `Builds and pushes the image, writes its digest into ${mcFile}`,
      content: buildScript(driver, facts, names, mcFile, options.sourceDir),
      executable: true,
    },
    ...(driver.signing
      ? [{ path: 'x509.conf', phase: 'build' as const, description: 'openssl request config for the module signing key pair (see README, Secure Boot)', content: x509Config(driver) }]
      : []),
    {
      path: mcFile,
      phase: options.day1 ? 'day1' : 'day2',
      description: `MachineConfig ${names.machineConfigName}: pool ${options.pool} boots the layered image (spec.osImageURL)`,
      objects: [machineConfig(driver, names, options, osImageURL)],
    },
  ];
  const placeholders = placeholdersOf(facts, names);
  return {
    method: 'layering',
    variant: 'off-cluster',
    day1: options.day1,
    files: withReadme(files, (all) => readme({ driver, facts, options, names, variant: 'off-cluster', files: all, placeholders, machineConfigFile: mcFile, machineConfigPoolFile: pool?.path })),
    placeholders,
  };
}

function renderOnCluster(driver: DriverSpec, release: Release, options: RenderOptions): ArtifactSet {
  const support = onClusterSupport(release);
  if (options.day1) {
    throw new UserError(
      '--day1 with --variant on-cluster: a MachineOSConfig builds its image on a running cluster, there is no install-time form; use --variant off-cluster --day1, or apply the MachineOSConfig after installation',
    );
  }
  const facts = new ReleaseFacts(release);
  const names = layeringNames(driver, release, options);
  const pushSpec = `${names.osImageRepo}:latest`;
  if (!PUSH_SPEC_FORMATS.some((re) => re.test(pushSpec))) {
    throw new UserError(
      `--registry ${names.registry}: the MachineOSConfig push spec ${pushSpec} must look like host.domain[:port][/namespace]/name:tag or service.namespace.svc:port/namespace/name:tag`,
    );
  }
  const containerfile = onClusterContainerfile(driver, facts, names.sourceImage);
  if (containerfile.length > CONTAINERFILE_CONTENT_MAX) {
    throw new UserError(
      `--variant on-cluster: the Containerfile for ${driver.name} is ${containerfile.length} characters, the MachineOSConfig takes at most ${CONTAINERFILE_CONTENT_MAX}; shorten build.commands (e.g. move them into a script in the driver source) or use --variant off-cluster`,
    );
  }
  const mosFile = `00-machineosconfig-${options.pool}.yaml`;
  const pool = poolFile(driver, options);
  const files: Artifact[] = pool ? [pool] : [];
  if ('path' in driver.source) {
    files.push({
      path: 'Containerfile.source',
      phase: 'build',
      description: `Packs the driver source into ${names.sourceImage}, which the in-cluster build copies from`,
      content: sourceImageContainerfile(driver),
    });
  }
  files.push({
    path: mosFile,
    phase: 'day2',
    description: `MachineOSConfig ${options.pool}: the MCO builds pool ${options.pool}'s OS image with the driver and rolls it out`,
    objects: [machineOSConfig(driver, names, options, containerfile, pushSpec)],
  });
  const placeholders = placeholdersOf(facts, names);
  return {
    method: 'layering',
    variant: 'on-cluster',
    day1: false,
    files: withReadme(files, (all) =>
      readme({ driver, facts, options, names, variant: 'on-cluster', files: all, placeholders, machineConfigPoolFile: pool?.path, onCluster: { support, file: mosFile, pushSpec } }),
    ),
    placeholders,
  };
}

export function renderLayering(driver: DriverSpec, release: Release, options: RenderOptions): ArtifactSet {
  const variant = layeringVariant(options.variant);
  return variant === 'on-cluster' ? renderOnCluster(driver, release, options) : renderOffCluster(driver, release, options);
}
