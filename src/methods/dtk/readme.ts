/** README.md of the dtk method: build, apply, verify, update, upgrade behaviour, remove. */
import type { Artifact } from '../../artifacts/artifact-set.js';
import type { Placeholder } from '../../release/placeholders.js';
import type { Release } from '../../release/release.js';
import { loadOrder, modprobeLoad, modprobeUnload } from '../driver-build.js';
import { customPoolSteps, isCustomPool } from '../custom-pool.js';
import { podmanSecretFlags, signingReadme } from '../module-signing.js';
import { ocpDocs } from '../ocp-docs.js';
import { pasteableShell } from '../readme-shell.js';
import { sourceDirArg } from '../source-dir.js';
import { HOST_MODULES_MOUNT } from './containerfile.js';
import { CLUSTER_DTK_IMAGESTREAM, CLUSTER_DTK_NAMESPACE, CLUSTER_DTK_TAG } from './names.js';
import { HOST_FIRMWARE_DIR, IMAGE_TRIGGER_ANNOTATION, imageTriggers, NFD_KERNEL_LABEL, type DtkContext } from './manifests.js';

export interface ReadmeInput {
  ctx: DtkContext;
  release: Release;
  files: Artifact[];
  placeholders: Placeholder[];
  /** Image reference the DaemonSet starts with (`repo:tag`). */
  image?: string;
  tag?: string;
  /** pinned only. */
  kver?: string;
  dtkImage?: string;
}

const fence = (lines: string[]): string[] => ['```sh', ...lines, '```'];

export function dtkReadme(input: ReadmeInput): string {
  const { ctx } = input;
  const { driver, options, variant, names } = ctx;
  const ns = names.namespace;
  const mods = loadOrder(driver);
  const grep = `grep -E '^(${mods.join('|')}) '`;
  const pathDriver = 'path' in driver.source;
  const sourceDir = sourceDirArg(driver, options) ?? '';
  const releaseName = input.release.version ? `OpenShift ${input.release.version}` : 'your OpenShift release';
  const docs = ocpDocs(input.release);
  const out: string[] = [];
  const p = (...lines: string[]) => out.push(...lines);

  p(`# ${driver.name} ${driver.version} — Driver Toolkit driver container (${variant}${options.day1 ? ', Day 1' : ''})`, '');
  p(
    `A small driver-container image holds the ${driver.name} modules (${mods.join(', ')}), compiled FROM the`,
    'driver-toolkit (DTK) image, which carries the kernel headers and compiler of exactly one RHCOS kernel.',
    `A privileged DaemonSet runs one pod per node of the \`${options.pool}\` pool; the pod only sleeps, its`,
    `postStart hook runs \`${modprobeLoad(driver)}\` and its preStop hook \`${modprobeUnload(driver)}\``,
    `(as in the OpenShift Driver Toolkit example, ${docs.driverToolkit}). Loading needs no reboot.`,
    '',
  );
  if (variant === 'pinned') {
    p(
      `**Variant pinned.** The image is built for one kernel, \`${input.kver}\`, with the DTK of ${releaseName}`,
      `pinned by digest (\`${input.dtkImage}\`), and tagged \`${input.tag}\`. It does not follow cluster upgrades:`,
      'see [Cluster upgrades](#cluster-upgrades).',
      '',
    );
  } else {
    p(
      `**Variant tracking.** The build starts FROM the cluster's own \`${CLUSTER_DTK_NAMESPACE}/${CLUSTER_DTK_IMAGESTREAM}:${CLUSTER_DTK_TAG}\``,
      'ImageStream tag (part of the release payload, moved by every cluster upgrade) and reads the kernel version',
      'from that image (`KERNEL_VERSION` in `/etc/driver-toolkit-release.json`). An ImageChange trigger rebuilds',
      `the image when the tag moves; the DaemonSet's \`image.openshift.io/triggers\` annotation rolls the pods onto`,
      `the rebuilt \`${names.imageStream}:latest\`. See [Cluster upgrades](#cluster-upgrades) for the window this leaves.`,
      '',
    );
  }

  p('## Files', '', '| file | when | what |', '|---|---|---|');
  for (const f of input.files) p(`| \`${f.path}\` | ${f.phase} | ${f.description} |`);
  p('| `README.md` | doc | this file |', '');

  if (input.placeholders.length > 0) {
    p(
      '## Placeholders to fill',
      '',
      'kmodlab did not know these facts of the release; the files contain the token instead. Fill them (re-rendering',
      'with the value is best) before building or applying anything.',
      '',
      '| token | meaning | how to fill |',
      '|---|---|---|',
    );
    for (const ph of input.placeholders) p(`| \`${ph.token}\` | ${ph.meaning} | \`${ph.howToFill.replace(/\|/g, '\\|')}\` |`);
    p('');
  }

  p('## Prerequisites', '');
  p('- `oc`, logged in as a user with `cluster-admin`.');
  if (isCustomPool(options.pool)) {
    p(
      `- The nodes of pool \`${options.pool}\`: the DaemonSet runs on nodes labelled \`node-role.kubernetes.io/${options.pool}\`. This method`,
      '  needs no MachineConfigPool (it changes no MachineConfig); label the nodes. If they carry a taint (infra nodes',
      '  often have `node-role.kubernetes.io/infra:NoSchedule`), add a matching toleration to the DaemonSet.',
      '',
      ...customPoolSteps(options.pool).map((l) => (l === '' ? '' : `  ${l}`)),
      '',
    );
  }
  if (!options.day1 && !options.registry) {
    p(
      '- The internal image registry must be `Managed` and have storage (it is `Removed` by default on bare metal and',
      '  single-node installs). Check, and if needed enable it (use a PVC in production; `emptyDir` loses images on restart):',
      '',
      ...fence([
        "oc get configs.imageregistry.operator.openshift.io cluster -o jsonpath='{.spec.managementState}{\"\\n\"}'",
        'oc patch configs.imageregistry.operator.openshift.io cluster --type merge \\',
        '  -p \'{"spec":{"managementState":"Managed","storage":{"emptyDir":{}}}}\'',
      ]),
      '',
    );
  }
  if (options.registry) {
    p(
      `- A repository under \`${options.registry}\` the nodes can pull from.`,
    );
    if (!options.day1) {
      p(
        `  The build pushes with, the ImageStream imports with and the pods pull with the Secret \`${names.registrySecret}\`,`,
        '  which you create (kmodlab never handles credentials):',
        '',
        ...fence([
          'oc apply -f 00-namespace.yaml',
          `oc create secret docker-registry ${names.registrySecret} -n ${ns} --docker-server=${options.registry.split('/')[0]} \\`,
          '  --docker-username=<user> --docker-password=<password or token>',
        ]),
        '',
      );
    } else {
      p(
        '  Nodes pull with the cluster-wide pull secret: add the registry credentials to `pullSecret` in',
        `  \`install-config.yaml\` (or make the repository public; later changes: ${docs.globalPullSecret}).`,
      );
    }
  }
  p(
    `- Build-time network access to \`registry.access.redhat.com\` (UBI minimal) and the UBI package repositories`,
    '  (`microdnf install kmod`). In a disconnected cluster, mirror them or change the final stage of the Containerfile.',
    driver.signing
      ? '- Signing: the modules are signed at build time; see [Secure Boot](#secure-boot-signing-the-modules).'
      : '- The modules are not signed. Nodes with UEFI Secure Boot refuse them (`Key was rejected by service`); give the driver spec a `signing` section to sign them at build time.',
  );
  p('');
  p(
    ...signingReadme(driver, {
      namespace: options.day1 ? undefined : ns,
      podman: options.day1,
      verifyCommand: `oc exec -n ${ns} daemonset/${names.daemonSet} -- modinfo -F signer ${mods[0]}`,
    }),
  );

  if (options.day1) {
    p(
      '## Build the image (off-cluster, before installing)',
      '',
      `The in-cluster build cannot run at install time (no internal registry, no builds before the cluster is up), so`,
      'build the Containerfile on a machine with podman and the installation pull secret (the DTK image is in the',
      'release payload on quay.io):',
      '',
      ...fence([
        `podman build --authfile <pull-secret.json> \\`,
        ...(driver.signing ? [`  ${podmanSecretFlags('signing_key.priv', 'signing_key.der').join(' ')} \\`] : []),
        `  --build-arg DTK=${input.dtkImage} \\`,
        `  --build-arg KVER=${input.kver} \\`,
        `  -t ${input.image} -f Containerfile ${pathDriver ? sourceDir : '.'}`,
        `podman push ${input.image}`,
      ]),
      '',
    );
    if (pathDriver) p(`\`${sourceDir}\` is the driver's source directory (\`source.path\` of its driver.yaml); it is the build context.`, '');
    p(
      '## Install',
      '',
      ...fence([
        'openshift-install create manifests --dir <install-dir>',
        'cp openshift/*.yaml <install-dir>/openshift/',
        'openshift-install create cluster --dir <install-dir>',
      ]),
      '',
      'The objects are created with the cluster. The driver is **not** loaded at first boot: it is loaded once the',
      'cluster is up and the DaemonSet pod is scheduled and pulls the image. A driver that the node needs for',
      'booting or for networking (e.g. a NIC driver) cannot be delivered this way; use image layering or KMM Day 1.',
      '',
    );
  } else {
    p('## Apply and build', '', 'In this directory (`oc apply` reads the numbered manifests in order):', '');
    const steps: string[] = ['oc apply -f .'];
    if (variant === 'pinned' && pathDriver) {
      steps.push(`oc start-build ${names.buildConfig} -n ${ns} --from-dir=${sourceDir} --follow`);
    } else if (variant === 'tracking' && pathDriver) {
      steps.push(`oc start-build ${names.sourceBuildConfig} -n ${ns} --from-dir=${sourceDir} --follow`);
      steps.push(`oc logs -f bc/${names.buildConfig} -n ${ns}`);
    } else {
      steps.push(`oc logs -f bc/${names.buildConfig} -n ${ns}`);
    }
    p(...fence(steps), '');
    if (pathDriver) {
      p(`\`${sourceDir}\` is the driver's source directory (\`source.path\` of its driver.yaml).`);
      if (variant === 'pinned') {
        p('A binary build cannot start by itself: start it after each change of the driver or of this BuildConfig.');
      } else {
        p(
          'Pushing the source image starts the driver build (ImageChange trigger). If a build starts before the first',
          'source image exists (the driver-toolkit trigger may fire when the BuildConfig is created), it fails; the',
          'source trigger starts the next one.',
        );
      }
    } else {
      p('Creating the BuildConfig starts the first build (ConfigChange trigger); the Containerfile clones the driver source.');
    }
    p(
      '',
      `Until the first build has pushed \`${names.imageStream}:${input.tag}\`${options.registry ? ' and the ImageStream has imported it' : ''}, the DaemonSet pods wait in`,
      '`ImagePullBackOff`; then the image trigger sets the pod template to the built digest and the pods start.',
      '',
    );
  }

  p('## Verify', '', ...fence([
    ...(options.day1 ? [] : [`oc get builds -n ${ns}`]),
    `oc rollout status daemonset/${names.daemonSet} -n ${ns}`,
    `oc get pods -n ${ns} -o wide`,
    '# a failed load shows up as a FailedPostStartHook event (hook output is not in oc logs) and pod restarts',
    `oc get events -n ${ns} --field-selector reason=FailedPostStartHook`,
    '# on the host, for each node of the pool',
    `oc debug node/<node> -- chroot /host lsmod | ${grep}`,
  ]), '');
  const params = Object.entries(driver.moduleParameters);
  if (params.length > 0) {
    p('Module parameters come from `/etc/modprobe.d/' + driver.name + '.conf` in the image; where the module exposes them in sysfs:', '');
    const lines: string[] = [];
    for (const [m, ps] of params) for (const k of Object.keys(ps)) lines.push(`oc debug node/<node> -- chroot /host cat /sys/module/${m.replace(/-/g, '_')}/parameters/${k}`);
    p(...fence(lines), '');
  }

  p('## Update (new driver version)', '');
  if (options.day1) {
    p(
      'Rebuild and push under the same tag, then restart the pods (the image is pulled again, `imagePullPolicy: Always`);',
      'each pod unloads the old modules (preStop) and loads the new ones (postStart), one node at a time:',
      '',
      ...fence([`oc rollout restart daemonset/${names.daemonSet} -n ${ns}`]),
      '',
      'Or, once the cluster is up, switch to the Day-2 artifacts (`kmodlab render` without `--day1`, same namespace).',
      '',
    );
  } else {
    const rebuild =
      variant === 'pinned' && pathDriver
        ? `oc start-build ${names.buildConfig} -n ${ns} --from-dir=${sourceDir} --follow`
        : variant === 'tracking' && pathDriver
          ? `oc start-build ${names.sourceBuildConfig} -n ${ns} --from-dir=${sourceDir} --follow`
          : `oc apply -f 02-buildconfig.yaml && oc start-build ${names.buildConfig} -n ${ns} --follow`;
    p(
      pathDriver
        ? 'Change the driver source, then rebuild:'
        : 'Change `source.git.ref` in the driver spec, re-render, then apply the BuildConfig and start a build (the ConfigChange trigger fires only when the BuildConfig is created):',
      '',
      ...fence([rebuild]),
      '',
      'When the new image lands in the ImageStream tag, the image trigger updates the DaemonSet, which replaces its pods',
      'one node at a time (`maxUnavailable: 1`): on each node the old pod unloads the modules (preStop) and the new pod',
      'loads the new ones (postStart), so each node is briefly without the driver.',
    );
    if (options.registry) {
      p(
        `The ImageStream re-imports \`${input.image}\` on its schedule (about every 15 minutes); to move now:`,
        '',
        ...fence([`oc import-image ${names.imageStream}:${input.tag} -n ${ns}`]),
      );
    }
    p('');
  }

  p('## Cluster upgrades', '');
  if (variant === 'pinned') {
    p(
      `Nothing follows an upgrade. After the upgrade each node reboots into the new release's kernel, and the image only`,
      `has modules for \`${input.kver}\`: the pod's postStart \`modprobe\` fails (\`Module … not found in directory`,
      '/lib/modules/<new kernel>`), the kubelet kills the container, and the pod restarts in `CrashLoopBackOff`.',
      `Where Node Feature Discovery labels nodes (\`${NFD_KERNEL_LABEL}\`), the DaemonSet instead removes the pod from`,
      'nodes with another kernel. Either way the driver is missing on upgraded nodes until you act.',
      '',
      'Manual steps for each upgrade: re-render for the target release (its DTK image and kernel), then',
      '',
      ...fence(
        options.day1
          ? ['# build and push the new image (see above), then, after the upgrade:', `oc apply -f openshift/99_kmodlab-${driver.name}-daemonset.yaml`]
          : [
              '# before the upgrade: build the image for the new kernel (a new tag; the running pods keep theirs)',
              pathDriver ? `oc apply -f 01-imagestream.yaml -f 02-buildconfig.yaml && oc start-build ${names.buildConfig} -n ${ns} --from-dir=${sourceDir} --follow` : `oc apply -f 01-imagestream.yaml -f 02-buildconfig.yaml && oc start-build ${names.buildConfig} -n ${ns} --follow`,
              '# once the nodes run the new kernel: move the DaemonSet to the new tag',
              'oc apply -f 06-daemonset.yaml',
            ],
      ),
      '',
      'Each node is without the driver from its reboot until its pod runs the new image.',
      '',
    );
  } else {
    p(
      'What happens, in order:',
      '',
      `1. The cluster-version operator moves \`${CLUSTER_DTK_NAMESPACE}/${CLUSTER_DTK_IMAGESTREAM}:${CLUSTER_DTK_TAG}\` to the new release's DTK.`,
      '   This fires the ImageChange trigger: a build for the new kernel. If the build fails (e.g. its node was',
      `   drained for the upgrade), nothing retries it: \`oc start-build ${names.buildConfig} -n ${ns}\`.`,
      `2. The new image only has modules for the **new** kernel. When it lands in \`${names.imageStream}:latest\` the`,
      '   image trigger updates the DaemonSet, which starts a rolling update:',
      '   - On a node still running the old kernel, the old pod is deleted (its preStop unloads the driver) and the new',
      '     pod\'s postStart `modprobe` fails (no modules for the running kernel): `FailedPostStartHook`, restarts,',
      '     `CrashLoopBackOff`. The driver is **absent on that node until it reboots** into the new kernel. Because',
      '     the new pod never becomes available, the rollout stops there: with `maxUnavailable: 1`, at most one node',
      '     loses the driver this way ahead of its reboot.',
      '   - A node that reboots into the new kernel while still running an old pod: the old pod restarts and fails',
      '     (old modules, new kernel); the DaemonSet controller replaces unavailable old pods at once, and the new pod',
      '     loads the driver. Such a node is without the driver from its reboot until the new pod runs (seconds to',
      '     minutes, plus the image pull; longer if its reboot came before the build finished).',
      '   - A node that reboots after it already got the new pod: the pod restarts on the new kernel and loads.',
      '3. When every node runs the new kernel, every pod runs the new image and the driver is loaded everywhere.',
      '',
      'kmodlab does not keep the previous kernel\'s modules in the image: a release\'s DTK has only its own kernel, so',
      'keeping them would mean chaining each build onto the previous image (which does not exist for the first build)',
      'and growing the image with every upgrade. To avoid the early unload on the not-yet-rebooted node, pause the',
      'DaemonSet\'s image trigger before the upgrade and resume it once every node has rebooted; rebooted nodes then',
      'crash-loop until you resume:',
      '',
      ...fence([
        `oc annotate daemonset/${names.daemonSet} -n ${ns} --overwrite \\`,
        `  ${IMAGE_TRIGGER_ANNOTATION}='${imageTriggers(names, `${names.imageStream}:${input.tag}`, true)}'`,
        '# after the upgrade: resume (the trigger then moves the pods to the rebuilt image)',
        `oc annotate daemonset/${names.daemonSet} -n ${ns} --overwrite \\`,
        `  ${IMAGE_TRIGGER_ANNOTATION}='${imageTriggers(names, `${names.imageStream}:${input.tag}`)}'`,
      ]),
      '',
    );
  }

  p('## Remove', '');
  const removeCmd = options.day1 ? `oc delete -f openshift/` : 'oc delete -f .';
  p(
    ...fence([removeCmd]),
    '',
    `Deleting the DaemonSet (or its namespace) deletes the pods; each pod's preStop hook runs \`${modprobeUnload(driver)}\`.`,
    'This is best effort: a failing preStop (module in use, or not loaded) does not stop the pod from being deleted,',
    'and the hook does not run for a pod that stops because its node reboots. Check, and unload by hand if needed:',
    '',
    ...fence([`oc debug node/<node> -- chroot /host lsmod | ${grep}`, `oc debug node/<node> -- chroot /host rmmod ${[...mods].reverse().join(' ')}`]),
    '',
  );
  if (options.day1) p('Also remove the files from the installer manifests you keep for future installs.', '');

  p('## Limits', '');
  p(
    '- In-tree dependencies (a DRM driver needs `drm_kms_helper`, an IIO driver `industrialio`): `modprobe` in the',
    '  container loads them from the node. The DaemonSet mounts the node\'s `/usr/lib/modules` read-only at',
    `  \`${HOST_MODULES_MOUNT}\`; in the image, \`/lib/modules/<kernel>/kernel\` is a symlink to \`${HOST_MODULES_MOUNT}/<kernel>/kernel\`,`,
    '  and the module index (`modules.dep` …) was made in the builder stage against the driver-toolkit\'s own in-tree',
    '  modules of the same kernel, so it names them at the paths the node has. A driver without such dependencies',
    '  never touches the mount. (Parameters for a dependency come from `modprobe.d`, not the top module\'s command line.)',
    '- Realtime-kernel nodes need their own build (the DTK also carries the realtime kernel\'s headers); kmodlab builds',
    '  for the default kernel only.',
    '- An evicted or preempted pod unloads the driver (preStop). The pod requests little (10m CPU, 16Mi memory);',
    '  consider `priorityClassName: system-node-critical` if your cluster admits it in this namespace.',
  );
  if (driver.inTreeModulesToRemove.length > 0) {
    p(`- postStart first removes the in-tree modules ${driver.inTreeModulesToRemove.join(', ')} if loaded; nothing reloads them on removal.`);
  }
  if (driver.firmware.length > 0) {
    p(
      `- Firmware: the kernel reads firmware from the host, so postStart copies it to \`${HOST_FIRMWARE_DIR}\` on the host and sets`,
      `  \`/sys/module/firmware_class/parameters/path\` to it (the same directory KMM uses).`,
    );
  }
  p('');
  return pasteableShell(out.join('\n'), options.pool);
}
