/** README.md of the KMM method: what it does, prerequisites, and every step from install to removal. */
import type { Artifact } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import type { ReleaseFacts } from '../../release/placeholders.js';
import type { RenderOptions } from '../method.js';
import { IN_TREE_LINK } from './containerfile.js';
import { CRIO_WIPE_UNIT } from './day1.js';
import { podmanSecretFlags, SIGNING_CERT_FILE, SIGNING_KEY_FILE, signingReadme } from '../module-signing.js';
import { KMM_SOURCES } from './features.js';
import { ocpDocs } from '../ocp-docs.js';
import { pasteableShell } from '../readme-shell.js';
import { sourceDirArg } from '../source-dir.js';
import { minorVersion } from '../../release/release.js';
import { toYamlStream } from '../../yaml.js';
import { ANY_KERNEL_REGEXP, filesToSign, kernelRegexp, preflightValidationExample } from './manifests.js';
import { droppedParameters, kmmLoadOrder, kmmModprobe, kmmUnloadOrder } from './modprobe.js';
import {
  CATALOG_SOURCE,
  HOST_FIRMWARE_DIR,
  imageForKernel,
  INTERNAL_REGISTRY,
  OPERATOR_CHANNEL,
  OPERATOR_NAMESPACE,
  OPERATOR_PACKAGE,
  type KmmNames,
} from './names.js';
import { minimumKmmVersion, type KmmForms } from './versions.js';

export interface ReadmeInputs {
  driver: DriverSpec;
  facts: ReleaseFacts;
  options: RenderOptions;
  names: KmmNames;
  /** Every file of the set except the README, in order. */
  files: Artifact[];
  /** Name of the imageRepoSecret the Module references (external registry only). */
  imageRepoSecret?: string;
  /** The KMM version rendered for and its field forms. */
  forms: KmmForms;
  /** True when the version is the default for the release (no --kmm-version). */
  kmmVersionDefaulted: boolean;
}

function code(lines: string[], lang = 'sh'): string {
  return ['```' + lang, ...lines, '```'].join('\n');
}

function registryHost(registry: string): string {
  return registry.split('/')[0]!;
}

export function kmmReadme(inp: ReadmeInputs): string {
  const { driver, facts, options, names, files, forms } = inp;
  const minKmm = minimumKmmVersion(forms, { signing: driver.signing !== undefined, inTreeModules: driver.inTreeModulesToRemove.length });
  const release = facts.release;
  const ns = names.namespace;
  const modprobe = kmmModprobe(driver);
  const load = kmmLoadOrder(modprobe);
  const unload = kmmUnloadOrder(modprobe);
  const dropped = droppedParameters(driver);
  const readyLabel = `kmm.node.kubernetes.io/${ns}.${names.moduleName}.ready`;
  const versionLabel = `kmm.node.kubernetes.io/version-module.${ns}.${names.moduleName}`;
  const pathSource = 'path' in driver.source;
  const day2Files = files.filter((f) => f.phase === 'day2').map((f) => f.path);
  const operatorFiles = day2Files.filter((p) => /^0\d-/.test(p));
  const driverFiles = day2Files.filter((p) => !/^0\d-/.test(p));
  const lsmodPattern = `^(${load.join('|')}) `;
  const out: string[] = [];

  out.push(
    `# ${driver.name} ${driver.version} with the Kernel Module Management (KMM) operator`,
    '',
    `Rendered by kmodlab (method \`kmm\`${options.day1 ? ', Day 1' : ''}) for ${release.version ? `OpenShift ${release.version}` : 'an OpenShift release whose version kmodlab was not told'}${release.kernelVersion ? `, kernel \`${release.kernelVersion}\`` : ''}.`,
    '',
    '## What this does',
    '',
    `The KMM operator watches the \`Module\` \`${names.moduleName}\` in namespace \`${ns}\`. For every node of the`,
    `\`${options.pool}\` pool (selector \`node-role.kubernetes.io/${options.pool}: ""\`) it takes the node's kernel, finds the`,
    'kernel mapping that matches it and the image for that kernel:',
    '',
    `- image \`${names.imageRepo}:${names.imageTagTemplate}\` (KMM substitutes the kernel version);`,
    `- if that image does not exist yet, KMM builds it in the cluster (an OpenShift \`Build\`) from the Dockerfile in ConfigMap`,
    `  \`${names.dockerfileConfigMap}\`: a stage \`FROM \${DTK_AUTO}\` — KMM fills in the driver-toolkit image of that exact kernel`,
    `  and \`KERNEL_FULL_VERSION\` — runs the driver's build commands, and a \`ubi-minimal\` stage keeps only the modules under`,
    `  \`/opt/lib/modules/<kernel>/extra/\` with \`depmod\` data${driver.firmware.length ? ' and the firmware under `/firmware/`' : ''};`,
  );
  if (driver.signing) {
    out.push(`- KMM then signs ${driver.modules.length > 1 ? 'the modules' : 'the module'} with the key and certificate in Secrets \`${driver.signing.keySecret}\` / \`${driver.signing.certSecret}\` and overwrites the image with the signed one;`);
  }
  out.push(
    `- a one-shot worker pod on the node copies the modules out of the image and runs \`modprobe\`: load order ${load.map((m) => `\`${m}\``).join(' → ')}`,
    `  (\`moduleName: ${modprobe.moduleName}\`${modprobe.modulesLoadingOrder ? `, \`modulesLoadingOrder: [${modprobe.modulesLoadingOrder.join(', ')}]\`, which KMM turns into softdeps` : ''}),`,
    `  and labels the node \`${readyLabel}\`.`,
    '',
    'No reboot is involved. When a node comes back with another kernel (cluster upgrade, realtime kernel), KMM builds',
    'the image for that kernel and loads it; deleting the Module unloads the modules again.',
    '',
    `**In-tree dependencies.** A driver that needs modules shipped with the kernel (a DRM driver needs \`drm_kms_helper\`, an IIO`,
    "driver `industrialio`) gets them the way KMM documents (\"Symbolic links for in-tree dependencies\"): KMM mounts the node's",
    `\`/usr/lib/modules\` into its build and worker pods, and the kmod image has a symlink \`/opt/lib/modules/<kernel>/${IN_TREE_LINK}\` →`,
    "`/lib/modules/<kernel>`, so `depmod -b /opt` records the in-tree modules and `modprobe -d /opt` loads them first. A driver",
    'without such dependencies is not affected (the link is simply unused). Build and node should run the same kernel build.',
    '',
  );
  if (!release.kernelVersion) {
    out.push(
      `> **Kernel unknown.** kmodlab was not told the release's kernel, so the kernel mapping is the broad \`regexp: '${ANY_KERNEL_REGEXP}'\`:`,
      '> KMM builds and loads for whatever kernel the nodes run. Re-run `kmodlab render --kernel <uname -r>` to restrict it to',
      '> the kernel family of the release.',
      '',
    );
  } else {
    out.push(
      `The kernel mapping \`regexp: '${kernelRegexp(release)}'\` matches \`${release.kernelVersion}\` and the later kernels of the same`,
      'family (z-streams, realtime); a node whose kernel matches no mapping gets no image and no module.',
      '',
    );
  }
  if (dropped.length > 0) {
    out.push(
      '> **Module parameters KMM cannot pass.** KMM passes `modprobe.parameters` to `moduleName` only, and does not read',
      '> modprobe.d files from the image. These parameters of the driver are therefore NOT set on Day 2:',
      ...dropped.map((d) => `> - \`${d.module}\`: \`${d.words.join(' ')}\``),
      `> Either make them defaults in the driver source, or put the parameters on the module loaded last (\`${modprobe.moduleName}\`).`,
      options.day1 ? '> (The Day-1 loader below passes every module its own parameters.)' : '',
      '',
    );
  }

  out.push('## Files', '', '| file | phase | what |', '|---|---|---|');
  for (const f of files) out.push(`| \`${f.path}\` | ${f.phase} | ${f.description} |`);
  out.push('| `README.md` | doc | this file |', '');

  out.push(
    '## Prerequisites',
    '',
    '- OpenShift 4.12 or later, `oc` logged in as cluster-admin.',
    `- **KMM ${minKmm} or later.** These files are rendered for KMM ${forms.version} (${inp.kmmVersionDefaulted ? `${release.version ? `the newest KMM for OpenShift ${release.version.split('.').slice(0, 2).join('.')}` : 'the newest KMM kmodlab knows, as the OpenShift version is unknown'}; \`--kmm-version\` renders for another` : 'from `--kmm-version`'}).`,
    `  Check the installed one with \`oc get csv -n ${OPERATOR_NAMESPACE}\`; ${minKmm === '2.0' ? 'KMM 1.x is not covered by kmodlab' : 'an older KMM rejects or ignores fields used here: re-render with `--kmm-version <its version>`'}.`,
    `- The KMM operator (package \`${OPERATOR_PACKAGE}\`, channel \`${OPERATOR_CHANNEL}\`, catalog \`${CATALOG_SOURCE}\`) in \`${OPERATOR_NAMESPACE}\`: ${options.day1 ? 'installed at install time by the Day-1 manifests below' : `\`${operatorFiles.join('`, `')}\` install it`}.`,
  );
  if (names.registryIsInternal) {
    out.push(
      `- The internal image registry, enabled and with storage (it is **not** enabled by default on bare metal):`,
      "  `oc get configs.imageregistry.operator.openshift.io cluster -o jsonpath='{.spec.managementState}'` must say `Managed`.",
      `  KMM pushes the images to \`${names.registry}\`. With ephemeral registry storage images vanish on a registry restart:`,
      forms.imageRebuildTrigger
        ? '  bump `spec.imageRebuildTriggerGeneration` in the Module (KMM 2.6+) to make KMM check and rebuild them.'
        : `  KMM ${forms.version} has no rebuild trigger (\`spec.imageRebuildTriggerGeneration\` needs KMM 2.6): delete and re-apply the Module to make it check and rebuild them.`,
    );
  } else {
    out.push(
      `- A registry under \`${names.registry}\` that KMM can push to and every node can pull from. KMM uses Secret`,
      `  \`${inp.imageRepoSecret}\` (\`spec.imageRepoSecret\`) to push the built images, to pull them on the nodes and to pull the build's`,
      '  base images, so it must hold your registry credentials **merged into the cluster pull secret** (step 2).',
    );
  }
  out.push(
    '- The `Build` capability (OpenShift builds) enabled; KMM picks the driver-toolkit (DTK) image for each kernel itself.',
    '- The nodes can run privileged pods in `' + ns + '`: `' + driverFiles.find((p) => p.includes('rbac')) + '` lets the worker ServiceAccount use the `privileged` SCC.',
  );
  if (driver.signing) {
    out.push('- Secure Boot: the public key of the signing certificate enrolled in the MOK database of every node (`mokutil --import`); nodes without Secure Boot ignore signatures.');
  }
  out.push('');

  // ---- Day 1 -------------------------------------------------------------------------
  let step = 1;
  if (options.day1) {
    const kver = facts.kernelVersion;
    const dtk = facts.driverToolkitImage;
    const image = imageForKernel(names, kver);
    const day1Files = files.filter((f) => f.phase === 'day1').map((f) => f.path);
    out.push(
      '## Day 1: load the driver from the first boot',
      '',
      'KMM is a Day-2 operator; its Day-1 form (KMM "Day 1 kernel module loading", produced by KMM\'s Day-1 utility) is a',
      `MachineConfig, independent of the operator. kmodlab renders a form **modelled on KMM's Day-1 utility**:`,
      `\`${files.find((f) => f.objects?.some((o) => o.kind === 'MachineConfig'))?.path}\` writes \`${names.day1Script}\` and two units on every \`${options.pool}\` node, and masks \`${CRIO_WIPE_UNIT}\`:`,
      '',
      `- \`${names.day1LoadUnit}\` runs **before \`network-pre.target\`** (so before NetworkManager). If the image`,
      `  \`${names.imageRepo}:<uname -r>\` was pulled to the node, it${driver.inTreeModulesToRemove.length ? ` unloads ${driver.inTreeModulesToRemove.map((m) => `\`${m}\``).join(', ')} and` : ''} runs the image through podman`,
      `  (privileged, the node's \`/lib/modules\` mounted, as KMM's worker) to load ${load.map((m) => `\`${m}\``).join(' → ')} with \`modprobe -d /opt\`${driver.firmware.length ? `; firmware goes to \`${HOST_FIRMWARE_DIR}\`` : ''}.`,
      `- \`${names.day1PullUnit}\` runs after \`network-online.target\`. If the image is missing it pulls it with the node's`,
      `  pull secret (\`/var/lib/kubelet/config.json\`), saves it to \`${names.day1ImageStore}/<uname -r>.tar\` and **reboots the node**, so that`,
      '  the load unit finds it on the next boot.',
      `- \`${CRIO_WIPE_UNIT}\` is masked, as KMM's Day-1 MachineConfig does: CRI-O may wipe the container storage at boot, and the`,
      "  loader's image must survive the first reboot. (CRI-O then no longer wipes its storage after an upgrade of CRI-O itself.)",
      '',
      'So each node reboots **once more** for every kernel it boots for the first time: during installation (after the',
      "MCO's first-boot update) and after each cluster upgrade. There is no network before the load unit runs, hence the",
      'image must already be on the node; it is never loaded from the initramfs.',
      '',
      "Where this differs from KMM's Day-1 utility (by choice): it runs the kmod image itself rather than KMM's worker image",
      '(no second image to pull; every module gets its own parameters), keeps the archive per kernel (upstream deletes it on the',
      'boot after the reboot), replaces characters outside `[A-Za-z0-9._-]` of `uname -r` by `_` in the tag (a 4.16+ realtime',
      'kernel ends in `+rt`, which no tag may hold; KMM does the same for its own builds), and retries the pull.',
      '',
      `The \`Module\` cannot be a Day-1 manifest: its CRD exists only once the operator is installed. The operator install`,
      `(${day1Files.filter((p) => !p.includes('machineconfig')).map((p) => `\`${p}\``).join(', ')}) is Day 1, the Module is applied after installation`,
      `(step ${'"'}Apply the driver${'"'} below); it builds and pushes images for later kernels to the same repository the units pull from.`,
      '',
      `### ${step++}. Build and push the image for the release's kernel (before installing)`,
      '',
      'The units pull a prebuilt image; nobody builds it for you at install time. Build it with the same Dockerfile KMM uses',
      '(`Containerfile`), giving the build args KMM would give:',
      '',
    );
    if (pathSource) {
      out.push(`First push the source image (\`${names.sourceImage}\`), see "Build and push the source image" below.`, '');
    }
    const built = driver.signing ? `${image}-unsigned` : image;
    const build = [
      '# the cluster pull secret (console.redhat.com) lets podman pull the DTK and ubi-minimal images',
      "# in-tree dependencies: KMM mounts the node's module tree into its builds; here the DTK's tree of the same kernel stands in",
      `ctr=$(podman create --authfile pull-secret.json ${dtk})`,
      `podman cp "$ctr:/lib/modules/${kver}" ./host-modules && podman rm "$ctr"`,
      `podman build -f Containerfile --authfile pull-secret.json -v "$PWD/host-modules:/lib/modules/${kver}:ro" \\`,
      `  --build-arg DTK_AUTO=${dtk} \\`,
      `  --build-arg KERNEL_FULL_VERSION=${kver} \\`,
      `  -t ${built} .`,
    ];
    if (driver.signing) {
      build.push(
        '# KMM signs only what it builds in the cluster: sign this image yourself, with the key pair of "Signing key and certificate" below',
        `podman build -f Containerfile.sign --authfile pull-secret.json \\`,
        `  --build-arg UNSIGNED_IMAGE=${built} --build-arg DTK_IMAGE=${dtk} --build-arg KERNEL_FULL_VERSION=${kver} \\`,
        `  ${podmanSecretFlags(SIGNING_KEY_FILE, SIGNING_CERT_FILE).join(' ')} \\`,
        `  -t ${image} .`,
      );
    }
    build.push(`podman push ${image}`);
    out.push(
      code(build),
      '',
      `\`${dtk.startsWith('quay.io/FILL_ME') ? 'oc adm release info <release> --image-for=driver-toolkit' : dtk}\` is the driver-toolkit of the release; its`,
      '`/etc/driver-toolkit-release.json` names the kernel (`KERNEL_VERSION`). The tag is the kernel (`uname -r`, KMM\'s Day-1',
      `scheme) with every character outside \`[A-Za-z0-9._-]\` replaced by \`_\`; the driver version is in the repository name`,
      `(\`${names.imageRepo}\`), so a new driver version gets new images. The Module uses the same scheme.`,
      release.rtKernelVersion ? `Nodes that run the realtime kernel need the image for \`${release.rtKernelVersion}\` too.` : 'Nodes that run the realtime kernel need the image for that kernel too.',
      '',
      `Make sure the nodes can pull it: add read credentials for \`${names.registry}\` to the install-config \`pullSecret\` under the key`,
      `\`${names.registry}\` (the repository, not \`${registryHost(names.registry)}\`): a \`${registryHost(names.registry)}\` key would replace the credentials the`,
      `pull secret from console.redhat.com already holds for that registry, and the nodes could no longer pull the release images`,
      `stored there. Container tools pick the most specific key (\`podman login --authfile pull-secret.json ${names.registry}\` writes it).`,
      '',
      `### ${step++}. Add the manifests to the installation`,
      '',
      code([
        'openshift-install create manifests --dir <install-dir>',
        ...day1Files.map((p) => `cp ${p} <install-dir>/openshift/`),
        'openshift-install create cluster --dir <install-dir>',
      ]),
      '',
      'Check a node after installation (the module is loaded before NetworkManager starts):',
      '',
      code([
        `oc debug node/<node> -- chroot /host journalctl -b -u ${names.day1LoadUnit} -u ${names.day1PullUnit}`,
        `oc debug node/<node> -- chroot /host sh -c "lsmod | grep -E '${lsmodPattern}'"`,
      ]),
      '',
      `Removing Day 1: \`oc delete machineconfig ${names.machineConfig}\` (the MCO updates and reboots the pool's nodes; the`,
      'modules are not loaded after that reboot). Cluster upgrades: push the image for the new kernel first (or let the',
      'Module build it, see PreflightValidationOCP below), otherwise the pull unit fails and the node stays without the',
      'driver until the Module loads it.',
      '',
      '## Day 2: the KMM Module',
      '',
    );
  } else {
    out.push(
      '## Steps',
      '',
      `### ${step++}. Install the operator`,
      '',
      code([
        `oc apply ${operatorFiles.map((p) => `-f ${p}`).join(' ')}`,
        `# wait until OLM has created the operator's CSV and it reports Succeeded, then for the Module CRD`,
        `until oc get csv -n ${OPERATOR_NAMESPACE} -o name | grep -q ${OPERATOR_PACKAGE}; do sleep 10; done`,
        `oc wait -n ${OPERATOR_NAMESPACE} $(oc get csv -n ${OPERATOR_NAMESPACE} -o name | grep ${OPERATOR_PACKAGE}) --for=jsonpath='{.status.phase}'=Succeeded --timeout=15m`,
        'until oc get crd modules.kmm.sigs.x-k8s.io >/dev/null 2>&1; do sleep 10; done',
        'oc wait crd/modules.kmm.sigs.x-k8s.io --for=condition=Established --timeout=5m',
        `oc -n ${OPERATOR_NAMESPACE} rollout status deployment/kmm-operator-controller`,
      ]),
      '',
    );
  }

  if (!names.registryIsInternal) {
    out.push(
      `### ${step++}. Registry credentials for KMM`,
      '',
      `Secret \`${inp.imageRepoSecret}\` in \`${ns}\`: the cluster pull secret plus push credentials for the repository \`${names.registry}\`.`,
      'It holds credentials: create it yourself, never keep it in these files.',
      '',
      `Log in to the repository \`${names.registry}\`, not to the registry \`${registryHost(names.registry)}\`: KMM gives this Secret to the`,
      "in-cluster build as its pull secret, and a build secret wins over the cluster pull secret for the same key. A",
      `\`${registryHost(names.registry)}\` key would replace the cluster's own credentials for \`${registryHost(names.registry)}\`, so pulling the release's`,
      'driver-toolkit image (`FROM ${DTK_AUTO}`, served from quay.io) with your credentials would be refused. A repository key',
      `(\`${names.registry}\`) is used only for images under it; every other image keeps the cluster's credentials.`,
      '',
      code([
        `oc apply -f ${driverFiles[0]}`,
        `oc get secret/pull-secret -n openshift-config --template='{{index .data ".dockerconfigjson" | base64decode}}' > auth.json`,
        `podman login --authfile auth.json ${names.registry}    # the repository: keeps the cluster's ${registryHost(names.registry)} key`,
        `oc create secret generic ${inp.imageRepoSecret} -n ${ns} --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=auth.json`,
        'rm auth.json',
      ]),
      '',
    );
  }

  if (pathSource) {
    const sourceFile = files.find((f) => f.path === 'Containerfile.source')?.path ?? 'Containerfile.source';
    out.push(`### ${step++}. Build and push the source image`, '');
    out.push(
      `The driver source is a local directory, and KMM's in-cluster build has no build context: the Dockerfile copies the`,
      `source from the image \`${names.sourceImage}\`, built with \`${sourceFile}\` from the driver directory.`,
      '',
    );
    if (names.registryIsInternal) {
      const route = `$(oc get route default-route -n openshift-image-registry -o jsonpath='{.spec.host}')`;
      const external = `${'$'}REGISTRY/${ns}/${driver.name}-source:${driver.version}`;
      out.push(
        'Push it to the internal registry through its default route:',
        '',
        code([
          `oc apply -f ${driverFiles[0]}`,
          `oc patch configs.imageregistry.operator.openshift.io/cluster --type=merge -p '{"spec":{"defaultRoute":true}}'`,
          `REGISTRY=${route}`,
          'podman login -u openshift -p "$(oc whoami -t)" "$REGISTRY"   # the token authenticates; add --tls-verify=false for a self-signed ingress certificate',
          `podman build -f ${sourceFile} -t ${external} ${sourceDirArg(driver, options)}`,
          `podman push ${external}`,
        ]),
        '',
        `Inside the cluster the same image is \`${names.sourceImage}\` (\`${INTERNAL_REGISTRY}\` is the registry's service).`,
        '',
      );
    } else {
      out.push(code([`podman build -f ${sourceFile} -t ${names.sourceImage} ${sourceDirArg(driver, options)}`, `podman push ${names.sourceImage}`]), '');
    }
    out.push(`Push a new source image (new tag = new driver version) whenever the source changes; KMM only rebuilds for a new image tag.`, '');
  }

  if (driver.signing) {
    out.push(
      ...signingReadme(driver, {
        heading: `### ${step++}. Signing key and certificate`,
        signedBy: `KMM signs the modules in the cluster (the Module's \`sign\` section): after building an image it runs \`sign-file\` in a signing pod with the key and certificate from Secrets and pushes the signed image. The key never goes into these files.`,
        namespace: ns,
        secretsUse: 'KMM reads them',
        verifyCommand: `oc debug node/<node> -- chroot /host modinfo -F signer ${load[0]}`,
      }),
      forms.filesToSignGlobs
        ? `Files signed (\`sign.filesToSign\`; the \`*\` is the one kernel directory of the image, KMM 2.6+ expands globs): ${filesToSign(driver, forms).map((f) => `\`${f}\``).join(', ')}.`
        : `Files signed (\`sign.filesToSign\`, exact paths: KMM ${forms.version} copies each entry literally, globs need KMM 2.6): ${filesToSign(driver, forms).map((f) => `\`${f}\``).join(', ')}.` +
          ' KMM fills in `${KERNEL_FULL_VERSION}` with `+` replaced by `_`, so on a realtime kernel named `…+rt` (OpenShift 4.16+) the path does not exist and signing fails.',
      'A module that is not signed with an enrolled key fails on Secure Boot nodes with `Required key not available`.',
      '',
    );
  }

  out.push(
    `### ${step++}. Apply the driver`,
    '',
    code([
      ...(options.day1 ? ['# after installation: the operator from the Day-1 manifests must be up', 'until oc get crd modules.kmm.sigs.x-k8s.io >/dev/null 2>&1; do sleep 10; done'] : []),
      `oc apply ${driverFiles.map((p) => `-f ${p}`).join(' ')}`,
    ]),
    '',
    `### ${step++}. Watch it load`,
    '',
    code([
      `oc get module ${names.moduleName} -n ${ns}`,
      `oc get builds,pods -n ${ns}                     # KMM builds the image once per kernel (skipped if it exists); build${driver.signing ? ', sign' : ''} and one-shot worker pods`,
      `# wait until every ${options.pool} node has loaded the driver (KMM labels it ${readyLabel})`,
      `until [ "$(oc get nodes -l ${readyLabel} -o name | wc -l)" -ge "$(oc get nodes -l node-role.kubernetes.io/${options.pool} -o name | wc -l)" ]; do sleep 15; done`,
      `oc get nodes -l ${readyLabel}`,
      `oc get nodemodulesconfigs                         # per node: what KMM wants loaded and what is loaded`,
      `oc debug node/<node> -- chroot /host sh -c "lsmod | grep -E '${lsmodPattern}'"`,
    ]),
    '',
    release.kernelVersion
      ? `For this release's kernel the image is \`${imageForKernel(names, release.kernelVersion)}\`.`
      : `The image is \`${names.imageRepo}:${names.imageTagTemplate.replace('${KERNEL_FULL_VERSION}', '<node kernel>')}\`.`,
    `A failed build stays visible: \`oc get builds -n ${ns}\`, \`oc logs build/<name> -n ${ns}\`.`,
    '',
    `### ${step++}. Update the driver`,
    '',
    `Re-render with the new \`version\` in driver.yaml${pathSource ? ' (and push the new source image)' : ''} and apply again. The image ${options.day1 ? 'repository' : 'tag'}`,
    `carries the driver version${options.day1 ? ' (Day 1: also re-apply the MachineConfig, whose units pull from that repository)' : ''}, so KMM builds new images and replaces the modules on every node (unload, then load the`,
    'new image) as soon as the Module changes; workloads using the modules must tolerate that.',
    '',
    `To upgrade node by node instead (KMM "ordered upgrade"): label the nodes \`${versionLabel}=<current version>\`, set`,
    '`spec.moduleLoader.container.version` to the same value, then change `version` and the image in one update and move',
    'the label to the new version one node at a time, after draining the workloads that use the driver. The node then',
    `gets \`kmm.node.kubernetes.io/${ns}.${names.moduleName}.version.ready=<version>\`. Module name plus namespace must not exceed 41 characters`,
    `(here ${ns.length + names.moduleName.length}).`,
    '',
    `### ${step++}. Cluster upgrades`,
    '',
    'Nothing to do: when a node reboots into the new kernel, KMM builds the image for it (with the new release\'s DTK)',
    'and loads it; until the build has finished the node runs without the driver. To build ahead and find build',
    `failures before upgrading, create a \`PreflightValidationOCP\` (cluster-scoped; the fields of KMM ${forms.version}: ${forms.preflight.fields === 'kernelVersion' ? '`kernelVersion` and `dtkImage` from KMM 2.4 on' : '`releaseImage` and `useRTKernel` up to KMM 2.3'})`,
    `and watch its \`status\`; it builds and signs only, it never loads. (${KMM_SOURCES.preflight})`,
    '',
    code(toYamlStream([preflightValidationExample(forms)]).trimEnd().split('\n'), 'yaml'),
    '',
    `### ${step++}. Remove`,
    '',
    code([
      `oc delete -f ${driverFiles.find((p) => p.includes('module')) ?? '12-module.yaml'}    # KMM runs modprobe -r ${unload.join(' ')} on every node`,
      `# wait until KMM has unloaded the modules everywhere (no node has the label)`,
      `until [ -z "$(oc get nodes -l ${readyLabel} -o name)" ]; do sleep 10; done`,
      `oc delete ${driverFiles.filter((p) => !p.includes('module')).reverse().map((p) => `-f ${p}`).join(' ')}`,
    ]),
    '',
    (names.registryIsInternal ? 'Keep the ServiceAccount and RBAC' : 'Keep the ServiceAccount, RBAC and the registry Secret') + ' until the Module is gone: KMM needs them to run the unload pods (its webhook',
    `refuses to delete a namespace that still holds a Module). The built images stay in the registry. Uninstall the operator`,
    `only when no Module is left in the cluster: \`oc delete subscription ${OPERATOR_PACKAGE} -n ${OPERATOR_NAMESPACE}\`, then its CSV.`,
    '',
  );

  const placeholders = facts.placeholders();
  out.push('## Placeholders', '');
  if (placeholders.length === 0) {
    out.push('None: every value in these files is known.', '');
  } else {
    out.push('Replace these tokens (or re-run kmodlab with the missing facts):', '', '| token | meaning | how to fill |', '|---|---|---|');
    for (const p of placeholders) out.push(`| \`${p.token}\` | ${p.meaning} | ${p.howToFill.replace(/\|/g, '\\|')} |`);
    out.push('');
  }

  out.push(
    '## Sources',
    '',
    `- KMM: deploying modules ${KMM_SOURCES.deploy}, kmod images and in-cluster builds ${KMM_SOURCES.kmodImage},`,
    `  ordered upgrade ${KMM_SOURCES.orderedUpgrade}, signing ${KMM_SOURCES.secureBoot}, firmware ${KMM_SOURCES.firmware},`,
    `  Day 1 ${KMM_SOURCES.day1}, install ${KMM_SOURCES.install}`,
    minorVersion(release)
      ? `- OpenShift ${minorVersion(release)!.join('.')} documentation: ${ocpDocs(release).kmm}`
      : `- OpenShift documentation (the OpenShift version was not given: put your cluster's version in the link): ${ocpDocs(release).kmm}`,
    '',
  );
  return pasteableShell(out.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n'), options.pool);
}
