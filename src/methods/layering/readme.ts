/**
 * README.md of the layering method: what the artifacts do and, step by step, how to
 * build, apply, watch, verify, update, upgrade and remove — for the off-cluster variant
 * (Day 2 and Day 1) and the on-cluster variant (Day 2).
 */
import type { Artifact } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import type { Placeholder } from '../../release/placeholders.js';
import { PLACEHOLDERS, type ReleaseFacts } from '../../release/placeholders.js';
import { loadOrder, modprobeConf } from '../driver-build.js';
import type { RenderOptions } from '../method.js';
import { customPoolSteps, nodeRoleLabel } from '../custom-pool.js';
import { podmanSecretFlags, signingReadme } from '../module-signing.js';
import { ocpDocs } from '../ocp-docs.js';
import { pasteableShell } from '../readme-shell.js';
import { sourceDirArg } from '../source-dir.js';
import { blacklistedModules } from './containerfile.js';
import { rhcosImageFor, type LayeringNames } from './images.js';
import { MCO_NAMESPACE } from './manifests.js';
import type { OnClusterSupport } from './support.js';

const DOCS = {
  usingLayering: 'https://github.com/openshift/machine-config-operator/blob/master/docs/UsingLayering.md',
  quickstart: 'https://github.com/openshift/machine-config-operator/blob/master/docs/onclusterlayering-quickstart.md',
  sno: 'https://github.com/openshift/machine-config-operator/blob/master/docs/SingleNodeOpenShift.md',
};

export interface ReadmeInput {
  driver: DriverSpec;
  facts: ReleaseFacts;
  options: RenderOptions;
  names: LayeringNames;
  variant: 'off-cluster' | 'on-cluster';
  files: readonly Artifact[];
  placeholders: readonly Placeholder[];
  /** Off-cluster: the file whose osImageURL build.sh rewrites. */
  machineConfigFile?: string;
  /** Custom pools: the rendered MachineConfigPool file. */
  machineConfigPoolFile?: string;
  /** On-cluster only. */
  onCluster?: { support: OnClusterSupport; file: string; pushSpec: string };
}

function code(lang: string, ...lines: string[]): string {
  return ['```' + lang, ...lines, '```'].join('\n');
}

function releaseFacts(facts: ReleaseFacts): string {
  const r = facts.release;
  const row = (what: string, value: string | undefined) => `| ${what} | ${value !== undefined ? `\`${value}\`` : '*unknown (placeholder)*'} |`;
  return [
    '| Release fact | Value |',
    '|---|---|',
    row('OpenShift version', r.version),
    row('RHCOS kernel (`uname -r`)', r.kernelVersion),
    row('rhel-coreos image', r.rhcosImage),
    row('driver-toolkit image', r.driverToolkitImage),
  ].join('\n');
}

function filesTable(files: readonly Artifact[]): string {
  return ['| File | When | What |', '|---|---|---|', ...files.map((f) => `| \`${f.path}\` | ${f.phase} | ${f.description} |`)].join('\n');
}

function placeholdersSection(placeholders: readonly Placeholder[]): string {
  if (placeholders.length === 0) return '## Placeholders\n\nNone: every value in these files is known.';
  return [
    '## Placeholders',
    '',
    'These files contain values kmodlab did not know. `grep -rn FILL_ME .` finds them; fill each before building or applying:',
    '',
    '| Placeholder | Meaning | How to fill |',
    '|---|---|---|',
    ...placeholders.map((p) => `| \`${p.token}\` | ${p.meaning} | ${p.howToFill.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}

function verifyCommands(driver: DriverSpec): string {
  const mods = loadOrder(driver);
  return code(
    'sh',
    'NODE=<node name>',
    '# the node booted the layered image (look for your repository and digest):',
    'oc debug node/$NODE -- chroot /host rpm-ostree status',
    '# the modules are loaded, in load order:',
    `oc debug node/$NODE -- chroot /host lsmod | grep -E '^(${mods.join('|')}) '`,
    '# systemd-modules-load loaded them at boot (errors appear here):',
    'oc debug node/$NODE -- chroot /host journalctl -b -u systemd-modules-load --no-pager',
  );
}

/** build.sh's signing inputs, when the driver is signed. */
function signEnv(driver: DriverSpec): string {
  return driver.signing ? 'SIGNING_KEY=signing_key.priv SIGNING_CERT=signing_key.der ' : '';
}

function driverNotes(driver: DriverSpec, variant: 'off-cluster' | 'on-cluster'): string[] {
  const notes: string[] = [];
  const mods = loadOrder(driver);
  notes.push(
    `- The modules are installed under \`/usr/lib/modules/<kernel>/extra/\` and listed in \`/etc/modules-load.d/${driver.name}.conf\` (${mods.map((m) => `\`${m}\``).join(', ')}, in this order); \`systemd-modules-load\` loads them at every boot.`,
  );
  const conf = modprobeConf(driver);
  if (conf) notes.push(`- Module parameters are in \`/etc/modprobe.d/${driver.name}.conf\`: ${conf.split('\n').map((l) => `\`${l}\``).join(', ')}.`);
  const blacklist = blacklistedModules(driver);
  if (blacklist.length > 0) {
    notes.push(
      `- In-tree modules ${blacklist.map((m) => `\`${m}\``).join(', ')} are blacklisted in \`/etc/modprobe.d/${driver.name}-blacklist.conf\` (no alias autoload). A module the initramfs loads early is not affected by this file.`,
    );
  }
  if (driver.firmware.length > 0) notes.push(`- Firmware goes to \`/usr/lib/firmware/\` (${driver.firmware.map((f) => `\`${f.target}\``).join(', ')}).`);
  notes.push(
    '- Only the default kernel gets the modules: a pool switched to `kernelType: realtime` (or `64k-pages`) boots another kernel and would not find them.',
  );
  if (driver.signing && variant === 'off-cluster') {
    notes.push('- The modules are signed in the builder stage (see "Secure Boot" below); the nodes load them under Secure Boot once the certificate is enrolled.');
  } else if (driver.signing) {
    notes.push(
      '- The driver spec asks for signing, but the on-cluster build cannot sign: a MachineOSConfig gives its Containerfile no build secrets, and a key in the Containerfile or an image would be readable by anyone who can read the MachineOSConfig or pull the image. Use the off-cluster variant (`--variant off-cluster`), which signs with build secrets. Unsigned modules do not load on Secure Boot nodes.',
    );
  } else {
    notes.push('- The modules are not signed: on nodes with Secure Boot enabled they do not load.');
  }
  return notes;
}

/** `oc wait` timeout for a pool rollout. */
const rolloutTimeoutMinutes = 90;

function watchSection(options: RenderOptions): string {
  return [
    `The Machine Config Operator renders a new configuration for pool \`${options.pool}\` and updates its nodes one at a time (up to the pool's \`maxUnavailable\`, default 1): each node is cordoned, drained, rebased onto the new OS image and rebooted. Expect several minutes per node (longer on bare metal).`,
    '',
    code(
      'sh',
      `oc wait mcp/${options.pool} --for=condition=Updating --timeout=15m   # the MCO has started (returns at once if it already has)`,
      `oc wait mcp/${options.pool} --for=condition=Updated --timeout=${rolloutTimeoutMinutes}m   # every node of the pool runs the new image`,
      `oc get mcp ${options.pool}; oc get nodes   # progress meanwhile: UPDATEDMACHINECOUNT; SchedulingDisabled while a node is drained and rebooted`,
      `oc get mcp ${options.pool} -o jsonpath='{.spec.maxUnavailable}'   # empty: 1`,
    ),
    '',
    `The second wait allows ${rolloutTimeoutMinutes} minutes (a few nodes at 5–15 minutes each); raise \`--timeout\` for a larger pool. If it times out, the rollout goes on: run it again.`,
    '',
    options.pool === 'master'
      ? `- Pool \`master\`: control-plane nodes reboot one at a time. **Single-node OpenShift**: there is no drain and the API (and every workload) is unavailable until the node is back (${DOCS.sno}).`
      : `- On **single-node OpenShift** use \`--pool master\`: there is no drain and the API is unavailable until the node is back (${DOCS.sno}).`,
    '- A degraded pool (`DEGRADED=True`) shows why in `oc describe mcp ' + options.pool + '` and in the `machine-config-daemon` pod of the node (`oc logs -n openshift-machine-config-operator -c machine-config-daemon <pod>`).',
  ].join('\n');
}

function offClusterReadme(i: ReadmeInput): string {
  const { driver, options, names, facts } = i;
  const mcFile = i.machineConfigFile!;
  const sourceDir = sourceDirArg(driver, options);
  const buildArg = sourceDir !== undefined ? ` ${sourceDir}` : '';
  const image = `${names.osImageRepo}:${names.osImageTag}`;
  const os = rhcosImageFor(facts.release);
  const docs = ocpDocs(facts.release);
  const out: string[] = [
    `# ${driver.name} ${driver.version}: RHCOS image layering (off-cluster build)${options.day1 ? ', Day 1' : ''}, pool \`${options.pool}\``,
    '',
    `The driver becomes part of the node operating system: \`Containerfile\` builds a custom OS image (the release's \`${os.tag}\` image plus the modules), and a MachineConfig points pool \`${options.pool}\` at it through \`spec.osImageURL\`. The Machine Config Operator (MCO) rolls it out like any OS update: every node reboots into the new image and loads the modules at boot. Nothing runs in the cluster for the driver (${docs.coreosLayering}).`,
    '',
    releaseFacts(facts),
    '',
    '## Files',
    '',
    filesTable(i.files),
    '',
    '## Before you start',
    '',
    options.day1
      ? '- A Linux host with `podman` of the same architecture as the nodes, and `oc` (for `oc adm release info`).'
      : '- A Linux host with `podman` of the same architecture as the nodes, and `oc` logged in as cluster-admin.',
    options.day1
      ? '- Your OpenShift pull secret (console.redhat.com, the one in `install-config.yaml`) as `pull-secret.json`, to pull the release images.'
      : "- The cluster's pull secret, to pull the release images: `oc get secret/pull-secret -n openshift-config -o jsonpath='{.data.\\.dockerconfigjson}' | base64 -d > pull-secret.json` (or download it from console.redhat.com).",
    `- A registry every node can reach (\`${names.registry}\`), and \`podman login ${names.registry.split('/')[0]}\` with push rights. Nodes pull the OS image with the cluster's **global pull secret**: if the repository is private, add read-only credentials for it there (${docs.globalPullSecret}).`,
  ];
  if (names.registryIsPlaceholder) {
    out.push(`- No \`--registry\` was given: the image name uses the placeholder \`${names.registry}\`. An in-cluster registry is not a good home for an OS image (nodes pull it before they are part of the cluster, e.g. when scaling up), so re-render with \`--registry <prefix>\`.`);
  }
  out.push(`- Both images must be from the cluster's release: the OS image is replaced, not patched, so a different release would down- or upgrade the pool.`, '');
  if (i.machineConfigPoolFile && !options.day1) out.push(...customPoolSteps(options.pool, i.machineConfigPoolFile), '');
  out.push(
    '## What the build does',
    '',
    '1. Stage `os-kernel` asks the rhel-coreos image which kernel it boots (`rpm -q kernel`; `uname -r` in a build would be the build host\'s kernel).',
    `2. Stage \`builder\` (driver-toolkit) checks it has \`/lib/modules/<that kernel>/build\` and stops with "kmodlab: this driver-toolkit image has no build tree for …" if the DTK is from another release; then it runs the driver's build commands with \`KVER\` set to that kernel.`,
    '3. The final stage is the rhel-coreos image plus the modules, `depmod`, a `modules-load.d` entry, and `ostree container commit`. The OS image has the kernel\'s full module tree, so `depmod` there also records in-tree dependencies (e.g. `drm_kms_helper` for a DRM driver) and `modprobe`/`systemd-modules-load` load them first.',
    '',
    '## What lands on the nodes',
    '',
    ...driverNotes(driver, 'off-cluster'),
    '',
    ...signingReadme(driver, { podman: true, verifyCommand: `oc debug node/<node> -- chroot /host modinfo -F signer ${loadOrder(driver)[0]}` }),
  );
  if (options.day1) {
    out.push(...day1Steps(i, buildArg, image));
  } else {
    const given = options.layeredImage;
    out.push(
      ...(given
        ? [
            '## 1. The image (given)',
            '',
            `You built and pushed the layered image already (\`--layered-image\`): \`${mcFile}\` pins \`${given}\`. Check that the nodes' registry serves it and that it was built from the cluster's release (its kernel is the release's):`,
            '',
            code('sh', `skopeo inspect --authfile pull-secret.json docker://${given} | grep -E '"(Digest|ostree.linux)"'`),
            '',
            `To build it again (a driver change, a new release), \`./build.sh${buildArg}\` builds \`${image}\`, pushes it and pins the new digest in \`${mcFile}\`; this is how:`,
            '',
          ]
        : ['## 1. Build and push', '']),
      code('sh', `${signEnv(driver)}AUTHFILE=pull-secret.json ./build.sh${buildArg}`),
      '',
      `\`build.sh\` runs \`podman build\` with the release's images, pushes \`${image}\` with \`--digestfile ${'image-digest.txt'}\` and writes \`<repository>@<digest>\` into \`${mcFile}\`. By hand:`,
      '',
      code(
        'sh',
        `# the images of the release the cluster runs now${os.note ? ` ${os.note}` : ''}:`,
        `podman build --authfile pull-secret.json -f Containerfile \\`,
        ...(driver.signing ? [`  ${podmanSecretFlags('signing_key.priv', 'signing_key.der').join(' ')} \\`] : []),
        `  --build-arg RHCOS_IMAGE=$(oc adm release info --image-for=${os.tag}) \\`,
        `  --build-arg DTK_IMAGE=$(oc adm release info --image-for=driver-toolkit) \\`,
        `  -t ${image} ${sourceDir ?? '.'}`,
        `podman push --digestfile image-digest.txt ${image}`,
      ),
      '',
      '## 2. Pin the digest',
      '',
      `\`osImageURL\` must name the image by digest: every node pulls it for itself, and a tag that moves between two pulls leaves nodes on different images (${DOCS.usingLayering}). ${
        given
          ? `It is pinned already: \`osImageURL: ${given}\` in \`${mcFile}\`. After a rebuild, \`build.sh\` writes the new \`<repository>@<digest>\` there; by hand, put \`${names.osImageRepo}@\` and the content of \`image-digest.txt\` on that line.`
          : `\`build.sh\` did this; by hand, replace \`sha256:${PLACEHOLDERS.layeredImageDigest.token}\` in \`${mcFile}\` with the content of \`image-digest.txt\`.`
      }`,
      '',
      '## 3. Apply',
      '',
      code('sh', `oc apply -f ${mcFile}`),
      '',
      '## 4. Watch the rollout',
      '',
      watchSection(options),
      '',
      '## 5. Verify',
      '',
      verifyCommands(driver),
      '',
      '## 6. Update the driver',
      '',
      `Change the driver, run \`./build.sh${buildArg}\` again (new digest written into \`${mcFile}\`), then \`oc apply -f ${mcFile}\`. Every node of the pool reboots again, one at a time.`,
      '',
    );
  }
  out.push(
    `## ${options.day1 ? '4' : '7'}. Cluster upgrades: you own the OS image of this pool`,
    '',
    `The MCO docs (${DOCS.usingLayering}): *"If you upgrade your cluster while \`OSImageURL\` is overridden, the MCO will prefer the "overridden" \`OSImageURL\` image over any image supplied with the upgrade payload, and the base OS will not be upgraded as part of the upgrade for any pool where you have overridden \`OSImageURL\`."* The nodes of pool \`${options.pool}\` keep this image — and its kernel, kubelet and CRI-O — until you rebuild it from the new release:`,
    '',
    code(
      'sh',
      'NEW=<new release, e.g. quay.io/openshift-release-dev/ocp-release:4.y.z-x86_64>',
      ...(os.tag === 'rhel-coreos' && !os.note
        ? [`RHCOS_IMAGE=$(oc adm release info $NEW --image-for=rhel-coreos) \\`]
        : [
            '# the OS image tag is rhel-coreos-8 in a 4.12 release, rhel-coreos from 4.13 on',
            `RHCOS_IMAGE=$(oc adm release info $NEW --image-for=rhel-coreos 2>/dev/null || oc adm release info $NEW --image-for=rhel-coreos-8) \\`,
          ]),
      `DTK_IMAGE=$(oc adm release info $NEW --image-for=driver-toolkit) \\`,
      `IMAGE=${names.osImageRepo}:${driver.version}-\${NEW##*:} ${signEnv(driver)}AUTHFILE=pull-secret.json ./build.sh${buildArg}`,
      `oc apply -f ${mcFile}`,
    ),
    '',
    'Do it right after each upgrade (one more rolling reboot of the pool): a pool left far behind the control plane is unsupported territory. Re-rendering with kmodlab for the new release does the same with the new facts.',
    '',
    `## ${options.day1 ? '5' : '8'}. Remove`,
    '',
    code('sh', `oc delete machineconfig ${names.machineConfigName}`),
    '',
    `The MCO moves pool \`${options.pool}\` back to the release's own OS image (${DOCS.usingLayering}, "Can I go back once I've used layering?"): another rolling reboot, after which the modules are no longer loaded or present. Delete the image from \`${names.osImageRepo}\` afterwards if you like.`,
    '',
    placeholdersSection(i.placeholders),
    '',
  );
  return out.join('\n');
}

function day1Steps(i: ReadmeInput, buildArg: string, image: string): string[] {
  const { options, names } = i;
  const os = rhcosImageFor(i.facts.release);
  const mcFile = i.machineConfigFile!;
  return [
    '## 1. Build and push before installing',
    '',
    'The image must exist, pushed, before `openshift-install` runs, and be built from the release you install:',
    '',
    code(
      'sh',
      'REL=<release image of the installer, e.g. quay.io/openshift-release-dev/ocp-release:4.y.z-x86_64>   # openshift-install version',
      ...(os.note ? [`# ${os.note}`] : []),
      `RHCOS_IMAGE=$(oc adm release info $REL --image-for=${os.tag}) \\`,
      `DTK_IMAGE=$(oc adm release info $REL --image-for=driver-toolkit) \\`,
      `${signEnv(i.driver)}AUTHFILE=pull-secret.json ./build.sh${buildArg}`,
    ),
    '',
    `${
      options.layeredImage
        ? `\`${mcFile}\` pins the image you gave (\`--layered-image\`): \`${options.layeredImage}\`; skip the build if that is built from the release you install. Otherwise \`build.sh\` pushes \`${image}\` and writes its \`<repository>@<digest>\` there instead.`
        : `\`build.sh\` pushes \`${image}\` and writes \`<repository>@<digest>\` into \`${mcFile}\` (replacing \`sha256:${PLACEHOLDERS.layeredImageDigest.token}\`).`
    } The registry \`${names.registry}\` must be reachable from the nodes during installation, and the \`pullSecret\` of \`install-config.yaml\` must hold read credentials for it (it becomes the global pull secret).`,
    '',
    '## 2. Add the MachineConfig to the installation manifests',
    '',
    code(
      'sh',
      'openshift-install create manifests --dir <install-dir>',
      `cp ${i.machineConfigPoolFile ? `${i.machineConfigPoolFile} ` : ''}${mcFile} <install-dir>/openshift/`,
      'openshift-install create cluster --dir <install-dir>      # (UPI: create ignition-configs, then boot the machines)',
    ),
    '',
    ...(i.machineConfigPoolFile
      ? [
          `Custom pool \`${options.pool}\`: \`${i.machineConfigPoolFile}\` creates it at installation; its nodes must carry the label \`${nodeRoleLabel(options.pool)}: ""\` — add it under \`spec.template.spec.metadata.labels\` of the MachineSet manifests (\`<install-dir>/openshift/99_openshift-cluster-api_worker-machineset-*.yaml\`) whose machines get the driver. Nodes of other MachineSets stay stock workers.`,
          '',
        ]
      : []),
    '## 3. What happens at installation',
    '',
    `Each node of pool \`${options.pool}\` boots the stock RHCOS boot image first (the boot image is not changed), then the machine-config-daemon's first-boot service rebases it onto the layered image and reboots it **once more** before it joins the cluster. Nodes added later (machine set scale-up) also reboot twice. The driver is therefore not available during that first boot: a NIC driver delivered this way cannot be the one the node needs to pull the image.`,
    options.pool === 'master'
      ? '\nFor **single-node OpenShift** the single node is in pool `master`: it takes the extra reboot during installation, and every later change to this MachineConfig reboots it with the API unavailable until it is back.'
      : '',
    '',
    'Verify after installation:',
    '',
    verifyCommands(i.driver),
    '',
    `After installation the MachineConfig \`${names.machineConfigName}\` is an ordinary Day-2 object: update the driver by building again and \`oc apply -f ${mcFile}\` (each update reboots every node of the pool), or re-render without \`--day1\`.`,
    '',
  ];
}

function onClusterReadme(i: ReadmeInput): string {
  const { driver, options, names, facts } = i;
  const oc = i.onCluster!;
  const docs = ocpDocs(facts.release);
  const pathSource = 'path' in driver.source;
  const level =
    oc.support.level === 'ga'
      ? 'generally available on this release'
      : '**Technology Preview** before 4.18.21: it needs the `TechPreviewNoUpgrade` feature set, which cannot be undone and blocks minor upgrades — use a test cluster, or 4.18.21+/4.19+';
  const out: string[] = [
    `# ${driver.name} ${driver.version}: RHCOS image layering (on-cluster build), pool \`${options.pool}\``,
    '',
    `The driver becomes part of the node operating system, built by the cluster itself: the MachineOSConfig \`${options.pool}\` hands the Machine Config Operator (MCO) a Containerfile; the MCO builds the pool's OS image with it in a Job in \`${MCO_NAMESPACE}\`, pushes it to \`${oc.pushSpec}\` and rolls it out to pool \`${options.pool}\` — every node reboots into it and loads the modules at boot. On-cluster layering (\`${oc.support.apiVersion}\`) is ${level} (${docs.coreosLayering}).`,
    '',
    releaseFacts(facts),
    '',
    '## Files',
    '',
    filesTable(i.files),
    '',
    `**One MachineOSConfig per pool**: its name must be the pool's (\`${options.pool}\`). If the pool already has one (\`oc get machineosconfig\`), merge this Containerfile into it instead of applying this file, or \`oc apply\` replaces the other customisations.`,
    '',
    '## The Containerfile',
    '',
    "The MCO appends it to its own stages; `configs` is the pool's base OS image with its MachineConfigs, and the last stage must be `FROM configs AS final`. kmodlab's content:",
    '',
    "1. `os-kernel` (`FROM configs`) asks the OS image which kernel it boots (`rpm -q kernel`);",
    `2. \`builder\` (the driver-toolkit of ${facts.release.version ? `OpenShift ${facts.release.version}` : 'the release'}, pinned) checks it has that kernel's build tree, stops with "kmodlab: this driver-toolkit image has no build tree for …" otherwise, and builds the driver${pathSource ? ` from the source image \`${names.sourceImage}\`` : ' from git'};`,
    '3. `final` adds the modules, `depmod`, a `modules-load.d` entry and commits.',
    '',
    '## What lands on the nodes',
    '',
    ...driverNotes(driver, 'on-cluster'),
    '',
    '## Before you start',
    '',
    `1. A copy of the global pull secret in \`${MCO_NAMESPACE}\`, for the base OS image and the driver-toolkit${pathSource ? ' (and the source image: add its registry\'s credentials to this copy if it is private)' : ''}:`,
    '',
    // bash, not sh: process substitution <(…) (as in the OpenShift docs for this secret).
    code(
      'bash',
      `oc create secret docker-registry ${names.baseImagePullSecretName} -n ${MCO_NAMESPACE} \\`,
      `  --from-file=.dockerconfigjson=<(oc get secret/pull-secret -n openshift-config -o go-template='{{index .data ".dockerconfigjson" | base64decode}}')`,
    ),
    '',
    `2. A push secret for \`${names.registry}\` in \`${MCO_NAMESPACE}\` (write access; the MCO only needs it for the build):`,
    '',
    code(
      'sh',
      `oc create secret docker-registry ${names.pushSecretName} -n ${MCO_NAMESPACE} \\`,
      `  --docker-server=${names.registry.split('/')[0]} --docker-username=<robot account> --docker-password=<token>`,
    ),
    '',
    `3. Nodes pull the built image with the cluster's global pull secret: if the repository is private, add read-only credentials for it there (${docs.globalPullSecret}).`,
  ];
  if (names.registryIsPlaceholder) {
    out.push(
      '',
      `   No \`--registry\` was given: \`renderedImagePushSpec\` uses the placeholder \`${names.registry}\`. To use the internal registry instead (it must be enabled), re-render with \`--registry image-registry.openshift-image-registry.svc:5000/${MCO_NAMESPACE}\` and set \`renderedImagePushSecret.name\` to the \`builder-dockercfg-…\` secret of that namespace (${DOCS.quickstart}).`,
    );
  }
  if (pathSource) {
    out.push(
      '',
      '4. The build pod gets no build context, so the driver source travels as an image. Build and push it from the driver source directory:',
      '',
      code('sh', `podman build -f Containerfile.source -t ${names.sourceImage} ${sourceDirArg(driver, options)}`, `podman push ${names.sourceImage}`),
    );
  }
  if (i.machineConfigPoolFile) out.push('', ...customPoolSteps(options.pool, i.machineConfigPoolFile));
  out.push(
    '',
    '## 1. Apply',
    '',
    code('sh', `oc apply -f ${oc.file}`),
    '',
    '## 2. Watch the build',
    '',
    code(
      'sh',
      'oc get machineosbuilds                          # PREPARED → BUILDING → SUCCEEDED (or FAILED)',
      `MOSB=$(oc get machineosconfig ${options.pool} -o jsonpath='{.status.machineOSBuild.name}')   # empty for a moment after apply: run again`,
      'oc wait machineosbuild/$MOSB --for=condition=Succeeded --timeout=60m',
      `oc logs -n ${MCO_NAMESPACE} -f job/build-$MOSB   # the build log, in another terminal`,
    ),
    '',
    'A failed build is retried three more times before the MachineOSBuild is `FAILED`; the kmodlab checks in the log say which image does not match.',
    '',
    '## 3. Watch the rollout',
    '',
    watchSection(options),
    options.pool === 'master' ? '\nOn-cluster layering supports single-node OpenShift from 4.19, on the `master` pool only.' : '',
    '',
    '## 4. Verify',
    '',
    code('sh', `oc get machineosconfig ${options.pool} -o jsonpath='{.status.currentImagePullSpec}{"\\n"}'   # the digest the nodes run`),
    '',
    verifyCommands(driver),
    '',
    '## 5. Update the driver',
    '',
    `Re-render (or edit the Containerfile in \`${oc.file}\`) and \`oc apply\`: a changed MachineOSConfig starts a new build, then a new rolling reboot. To rebuild without changes (e.g. a moved git branch${pathSource ? ' or a re-pushed source image' : ''}): \`oc annotate machineosconfig/${options.pool} machineconfiguration.openshift.io/rebuild=\`.`,
    '',
    '## 6. Cluster upgrades',
    '',
    `On an upgrade the MCO rebuilds the image on the new release's OS and rolls it out as part of the upgrade. But the driver-toolkit in the Containerfile is **pinned to ${facts.release.version ? `OpenShift ${facts.release.version}` : 'this release'}**: when the upgrade brings a new kernel, the build stops at the kmodlab check and the pool stays on its current image until the MachineOSConfig names the new release's driver-toolkit. When you start an upgrade, re-render for the target release (or replace the \`FROM … AS builder\` image with \`oc adm release info <target> --image-for=driver-toolkit\`) and \`oc apply\`; a build started before the MCO switches to the new OS fails the same check and is superseded by the next one.`,
    '',
    '## 7. Remove',
    '',
    code('sh', `oc delete machineosconfig ${options.pool}`),
    '',
    `Pool \`${options.pool}\` goes back to the release's own OS image: another rolling reboot, after which the modules are gone. The built images stay in \`${names.osImageRepo}\`; deleting a MachineOSBuild also deletes its image if the push secret may delete.`,
    '',
    placeholdersSection(i.placeholders),
    '',
  );
  return out.join('\n');
}

export function readme(i: ReadmeInput): string {
  return pasteableShell(i.variant === 'on-cluster' ? onClusterReadme(i) : offClusterReadme(i), i.options.pool);
}
