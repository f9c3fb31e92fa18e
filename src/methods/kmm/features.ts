/** What the KMM method offers, each fact with the document it comes from. */
import type { FeatureFact } from '../method.js';
import { ocpKmmDocs } from '../ocp-docs.js';

const UPSTREAM_DOCS = 'https://github.com/kubernetes-sigs/kernel-module-management/blob/main/docs';
const MIDSTREAM_DOCS = 'https://github.com/rh-ecosystem-edge/kernel-module-management/blob/main/docs/mkdocs/documentation';

export const KMM_SOURCES = {
  deploy: `${UPSTREAM_DOCS}/mkdocs/documentation/deploy_kmod.md`,
  workerPods: `${UPSTREAM_DOCS}/enhancements/0001-worker-pods.md`,
  orderedUpgrade: `${UPSTREAM_DOCS}/mkdocs/documentation/ordered_upgrade.md`,
  secureBoot: `${UPSTREAM_DOCS}/mkdocs/documentation/secure_boot.md`,
  firmware: `${UPSTREAM_DOCS}/mkdocs/documentation/firmwares.md`,
  kmodImage: `${MIDSTREAM_DOCS}/kmod_image.md`,
  day1: `${MIDSTREAM_DOCS}/day1_limited_option.md`,
  install: `${MIDSTREAM_DOCS}/install.md`,
  security: `${MIDSTREAM_DOCS}/deploy_kmod.md`,
  preflight: `${MIDSTREAM_DOCS}/preflight_validation.md`,
  ocpDocs: ocpKmmDocs([4, 20]),
} as const;

export const kmmFeatures: readonly FeatureFact[] = [
  {
    key: 'reboot-required',
    value: 'no: one-shot worker pods run modprobe on the running kernel (Day 1: see day1-support)',
    source: KMM_SOURCES.deploy,
    level: 'no',
  },
  {
    key: 'follows-kernel-upgrades',
    value: 'yes: a kernelMapping regexp matches each new node kernel; KMM builds (DTK_AUTO) and loads an image per kernel',
    source: KMM_SOURCES.kmodImage,
    level: 'yes',
  },
  {
    key: 'day1-support',
    value: 'limited: MachineConfig + systemd units load a prebuilt image before network-pre.target; +1 reboot per node for each new kernel (pull after network, then reboot); no initramfs',
    source: KMM_SOURCES.day1,
    level: 'partly',
  },
  {
    key: 'in-cluster-build',
    value: 'yes: OpenShift Build from the Dockerfile ConfigMap; needs a registry (internal or --registry)',
    source: KMM_SOURCES.kmodImage,
  },
  {
    key: 'module-signing',
    value: 'yes: the sign section signs in-cluster with key/cert Secrets (key enrolled in MOK by you)',
    source: KMM_SOURCES.secureBoot,
    level: 'yes',
  },
  {
    key: 'resident-components',
    value: 'KMM controller + webhook Deployments (openshift-kmm); worker pods only while loading/unloading',
    source: KMM_SOURCES.workerPods,
  },
  {
    key: 'privileged-workload',
    value: 'yes: worker pods run as root with CAP_SYS_MODULE, SELinux spc_t, privileged SCC (privileged: true when copying firmware)',
    source: KMM_SOURCES.security,
    level: 'yes',
  },
  {
    key: 'operator-required',
    value: 'yes: Kernel Module Management from redhat-operators (OLM), OpenShift 4.12+',
    source: KMM_SOURCES.install,
  },
  {
    key: 'single-node',
    value: 'yes: no reboot; select the master pool (the operator tolerates control-plane nodes)',
    source: KMM_SOURCES.install,
    level: 'yes',
  },
  {
    key: 'unload-on-removal',
    value: 'yes: deleting the Module makes KMM run modprobe -r on every node',
    source: KMM_SOURCES.deploy,
  },
  {
    key: 'disconnected',
    // The install doc's Subscription names the redhat-operators catalog: a disconnected cluster needs it mirrored (OLM on restricted networks).
    value: 'yes, once the redhat-operators catalog (with the KMM bundle and its images) is mirrored for OLM; in-cluster builds use the mirrored driver-toolkit',
    source: KMM_SOURCES.install,
    level: 'yes',
  },
];
