/**
 * Driver Toolkit (DTK) driver containers: the driver is compiled FROM the release's
 * driver-toolkit image into a small driver-container image, and a privileged DaemonSet
 * loads it on every node of the pool (postStart `modprobe`, preStop `modprobe -r`).
 *
 * Variants:
 * - `pinned` (default): the release's DTK (by digest) and kernel are fixed at render
 *   time; the image is tagged with the kernel. Nothing follows an upgrade.
 * - `tracking`: the build follows the cluster's `openshift/driver-toolkit:latest`
 *   (rebuilt when an upgrade moves it) and the DaemonSet follows the rebuilt image.
 */
import type { Artifact, ArtifactSet } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import { UserError } from '../../errors.js';
import { ReleaseFacts } from '../../release/placeholders.js';
import type { Release } from '../../release/release.js';
import { sourceImageContainerfile } from '../driver-build.js';
import type { Method, RenderOptions } from '../method.js';
import { x509Config } from '../module-signing.js';
import { runtimeStage } from '../os-family.js';
import { finalBaseImage, pinnedContainerfile, trackingContainerfile } from './containerfile.js';
import { DTK_FEATURES } from './features.js';
import {
  daemonSet,
  driverImageStream,
  namespace,
  pinnedBuildConfig,
  role,
  roleBinding,
  serviceAccount,
  sourceBuildConfig,
  sourceImageStream,
  trackingBuildConfig,
  type DtkContext,
  type DtkVariant,
} from './manifests.js';
import { driverImageRepository, dtkNames, kernelTag, sourceImagePullSpec } from './names.js';
import { dtkReadme, type ReadmeInput } from './readme.js';

export const DTK_VARIANTS = ['pinned', 'tracking'] as const satisfies readonly DtkVariant[];

export function dtkVariant(options: RenderOptions): DtkVariant {
  const v = options.variant ?? DTK_VARIANTS[0];
  if (!(DTK_VARIANTS as readonly string[]).includes(v)) {
    throw new UserError(`--variant "${v}" is not a dtk variant: expected one of ${DTK_VARIANTS.join(', ')}`);
  }
  return v as DtkVariant;
}

function checkOptions(variant: DtkVariant, options: RenderOptions): void {
  if (options.day1 && variant === 'tracking') {
    throw new UserError(
      '--day1 with dtk supports only --variant pinned: tracking rebuilds in the cluster from openshift/driver-toolkit:latest, which cannot run at install time',
      'render --day1 --variant pinned for install time, then apply the Day-2 tracking artifacts once the cluster is up',
    );
  }
  if (options.day1 && !options.registry) {
    throw new UserError(
      '--day1 with dtk needs --registry <repo prefix> (e.g. quay.io/acme): the in-cluster build cannot run at install time (no internal image registry yet), so the driver image is built off-cluster and pushed there',
    );
  }
  if (variant === 'tracking' && options.registry) {
    throw new UserError(
      '--registry does not apply to dtk --variant tracking: its builds pull openshift/driver-toolkit:latest through the internal image registry and push there',
      'drop --registry, or use --variant pinned to push to an external registry',
    );
  }
}

function x509File(driver: DriverSpec): Artifact {
  return { path: 'x509.conf', phase: 'build', description: 'openssl request config for the module signing key pair (see README, Secure Boot)', content: x509Config(driver) };
}

function manifest(path: string, description: string, objects: Artifact['objects'], phase: Artifact['phase'] = 'day2'): Artifact {
  return { path, phase, description, objects };
}

function render(driver: DriverSpec, release: Release, options: RenderOptions): ArtifactSet {
  const variant = dtkVariant(options);
  checkOptions(variant, options);
  const facts = new ReleaseFacts(release);
  const names = dtkNames(driver, options);
  const ctx: DtkContext = { driver, options, variant, names };
  const files: Artifact[] = [];
  const readme: Omit<ReadmeInput, 'files' | 'placeholders'> = { ctx, release };

  if (variant === 'pinned') {
    const kver = facts.kernelVersion;
    const dtkImage = facts.driverToolkitImage;
    const tag = kernelTag(kver);
    const repository = driverImageRepository(names, options.registry);
    const image = `${repository}:${tag}`;
    Object.assign(readme, { kver, dtkImage, image, tag });
    const header = [
      `Driver container for ${driver.name} ${driver.version} (kmodlab, dtk method, variant pinned).`,
      `Builder: the driver-toolkit image of the release, whose kernel is ${kver}.`,
      options.day1
        ? 'Build it off-cluster (see README.md) and push it before installing the cluster.'
        : `Built in the cluster by BuildConfig ${names.buildConfig} (namespace ${names.namespace}), which passes DTK and KVER as build args.`,
    ];
    // The file is for podman builds (key from --secret); the BuildConfig's copy reads it from build volumes.
    const runtime = runtimeStage(facts, finalBaseImage(kver));
    const containerfile = pinnedContainerfile(driver, { dtkImage, kver, header, signing: 'podman-secret', runtime });
    const inClusterContainerfile = pinnedContainerfile(driver, { dtkImage, kver, header, signing: 'build-volumes', runtime });

    if (options.day1) {
      const prefix = `openshift/99_kmodlab-${driver.name}`;
      files.push(
        manifest(`${prefix}-namespace.yaml`, 'Namespace of the driver container (privileged pod security)', [namespace(ctx)], 'day1'),
        manifest(`${prefix}-serviceaccount.yaml`, 'ServiceAccount of the driver container pods', [serviceAccount(ctx)], 'day1'),
        manifest(`${prefix}-role.yaml`, 'Role allowing the privileged SCC', [role(ctx)], 'day1'),
        manifest(`${prefix}-rolebinding.yaml`, 'Binds the Role to the ServiceAccount', [roleBinding(ctx)], 'day1'),
        manifest(`${prefix}-daemonset.yaml`, 'DaemonSet loading the modules on every node of the pool once the cluster is up', [daemonSet(ctx, { image, kver })], 'day1'),
      );
    } else {
      const external = options.registry ? repository : undefined;
      files.push(
        manifest('00-namespace.yaml', 'Namespace of the build and the driver container (privileged pod security)', [namespace(ctx)]),
        manifest('01-imagestream.yaml', 'ImageStream of the driver container image', [driverImageStream(ctx, tag, external)]),
        manifest('02-buildconfig.yaml', `BuildConfig building the driver container FROM the release's driver-toolkit for kernel ${kver}`, [
          pinnedBuildConfig(ctx, inClusterContainerfile, { dtkImage, kver }, { tag, externalRepository: external }),
        ]),
        manifest('03-serviceaccount.yaml', 'ServiceAccount of the driver container pods', [serviceAccount(ctx)]),
        manifest('04-role.yaml', 'Role allowing the privileged SCC', [role(ctx)]),
        manifest('05-rolebinding.yaml', 'Binds the Role to the ServiceAccount', [roleBinding(ctx)]),
        manifest('06-daemonset.yaml', 'DaemonSet loading the modules (postStart) and unloading them (preStop) on every node of the pool', [
          daemonSet(ctx, { image, kver, triggerTag: `${names.imageStream}:${tag}`, imagePullSecret: options.registry ? names.registrySecret : undefined }),
        ]),
      );
    }
    files.push({ path: 'Containerfile', phase: 'build', description: 'Driver container image: builder FROM the driver-toolkit, small final stage with kmod', content: containerfile });
    if (driver.signing) files.push(x509File(driver));
  } else {
    const pathDriver = 'path' in driver.source;
    const tag = 'latest';
    const image = `${driverImageRepository(names, undefined)}:${tag}`;
    Object.assign(readme, { image, tag });
    const header = [
      `Driver container for ${driver.name} ${driver.version} (kmodlab, dtk method, variant tracking).`,
      `Built in the cluster by BuildConfig ${names.buildConfig} (namespace ${names.namespace}) whenever`,
      'openshift/driver-toolkit:latest moves (cluster upgrades); the kernel is read from that image.',
    ];
    const containerfile = trackingContainerfile(driver, {
      sourceImage: pathDriver ? sourceImagePullSpec(names) : undefined,
      header,
      runtime: runtimeStage(facts, finalBaseImage(release.kernelVersion)),
    });
    const sourceContainerfile = pathDriver
      ? [
          `# In the cluster this is the inline dockerfile of BuildConfig ${names.sourceBuildConfig}; it pushes ${names.sourceImageStream}:latest:`,
          `#   oc start-build ${names.sourceBuildConfig} -n ${names.namespace} --from-dir=<driver source dir> --follow`,
          sourceImageContainerfile(driver),
        ].join('\n')
      : undefined;
    files.push(
      manifest('00-namespace.yaml', 'Namespace of the builds and the driver container (privileged pod security)', [namespace(ctx)]),
      manifest(
        '01-imagestream.yaml',
        pathDriver ? 'ImageStreams of the driver container image and of the driver source image' : 'ImageStream of the driver container image',
        [driverImageStream(ctx, tag), ...(pathDriver ? [sourceImageStream(ctx)] : [])],
      ),
      manifest(
        '02-buildconfig.yaml',
        pathDriver
          ? 'BuildConfigs: the source image (oc start-build --from-dir) and the driver container, rebuilt when openshift/driver-toolkit:latest or the source moves'
          : 'BuildConfig of the driver container, rebuilt when openshift/driver-toolkit:latest moves',
        [...(sourceContainerfile ? [sourceBuildConfig(ctx, sourceContainerfile)] : []), trackingBuildConfig(ctx, containerfile, { tag })],
      ),
      manifest('03-serviceaccount.yaml', 'ServiceAccount of the driver container pods', [serviceAccount(ctx)]),
      manifest('04-role.yaml', 'Role allowing the privileged SCC', [role(ctx)]),
      manifest('05-rolebinding.yaml', 'Binds the Role to the ServiceAccount', [roleBinding(ctx)]),
      manifest('06-daemonset.yaml', 'DaemonSet loading the modules (postStart) and unloading them (preStop); follows the rebuilt image', [
        daemonSet(ctx, { image, triggerTag: `${names.imageStream}:${tag}` }),
      ]),
      { path: 'Containerfile', phase: 'build', description: 'Driver container image: builder FROM openshift/driver-toolkit:latest, small final stage with kmod', content: containerfile },
      ...(driver.signing ? [x509File(driver)] : []),
    );
    if (sourceContainerfile) {
      files.push({ path: 'Containerfile.source', phase: 'build', description: 'Source image: the driver directory, for the tracking build', content: sourceContainerfile });
    }
  }

  const placeholders = facts.placeholders();
  files.push({
    path: 'README.md',
    phase: 'doc',
    description: 'How to build, apply, verify, update and remove the driver container',
    content: dtkReadme({ ...readme, files, placeholders }),
  });
  return { method: 'dtk', variant, day1: options.day1, files, placeholders };
}

export const dtkMethod: Method = {
  id: 'dtk',
  title: 'Driver Toolkit (DTK) driver containers',
  variants: DTK_VARIANTS,
  features: DTK_FEATURES,
  render,
};
