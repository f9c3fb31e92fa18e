/** What RHCOS image layering costs and offers, with where each fact comes from. */
import type { FeatureFact } from '../method.js';

const MCO_DOCS = 'https://github.com/openshift/machine-config-operator/blob/master/docs';

export const LAYERING_FEATURES: readonly FeatureFact[] = [
  {
    key: 'reboot-required',
    value: 'yes: every node of the pool, on every change (cordon, drain, reboot)',
    source: 'https://docs.openshift.com/container-platform/4.18/machine_configuration/mco-coreos-layering.html',
    level: 'yes',
  },
  {
    key: 'follows-kernel-upgrades',
    value: 'off-cluster: no, the pool keeps its image until you rebuild; on-cluster: rebuilt on upgrade, but the pinned driver-toolkit must be updated for a new kernel',
    byVariant: {
      'off-cluster': 'no: the pool keeps its pinned image until you rebuild it on the new release and update osImageURL',
      'on-cluster': 'partly: the MCO rebuilds the image on the new release and rolls it out, once the MachineOSConfig names the new release\'s driver-toolkit (the Containerfile pins it)',
    },
    source: `${MCO_DOCS}/UsingLayering.md#6-you-are-now-responsible-for-keeping-that-image-up-to-date`,
    level: { 'off-cluster': 'no', 'on-cluster': 'partly' },
  },
  {
    key: 'day1-support',
    value: 'yes (off-cluster): MachineConfig in the install manifests; nodes boot stock RHCOS first, one extra reboot',
    byVariant: { 'on-cluster': 'no: a MachineOSConfig builds on a running cluster; install with off-cluster layering' },
    source: `${MCO_DOCS}/UsingLayering.md#can-i-override-osimageurl-at-install-time`,
    level: { 'off-cluster': 'partly', 'on-cluster': 'no' },
  },
  {
    key: 'in-cluster-build',
    value: 'on-cluster variant only (MachineOSConfig, MCO build Job); off-cluster builds with podman',
    byVariant: { 'off-cluster': 'no: build.sh builds and pushes with podman outside the cluster', 'on-cluster': 'yes: the MCO builds the MachineOSConfig\'s Containerfile in a Job (MachineOSBuild)' },
    source: `${MCO_DOCS}/onclusterlayering-quickstart.md`,
  },
  {
    key: 'module-signing',
    value: 'off-cluster: yes when the driver spec has signing (sign-file in the builder stage, key as a podman build secret); on-cluster: no (no build secrets); the key must be enrolled (MOK) by you',
    byVariant: {
      'off-cluster': 'yes when the driver spec has signing (sign-file in the builder stage, key as a podman build secret); the key must be enrolled (MOK) by you',
      'on-cluster': 'no: a MachineOSConfig has no build secrets to sign with',
    },
    source: 'https://docs.kernel.org/admin-guide/module-signing.html',
    level: { 'off-cluster': 'partly', 'on-cluster': 'no' },
  },
  {
    key: 'resident-components',
    value: 'none: the modules are part of the OS image',
    source: 'https://github.com/openshift/rhcos-image-layering-examples',
  },
  {
    key: 'privileged-workload',
    value: 'none',
    source: 'https://github.com/openshift/rhcos-image-layering-examples',
    level: 'no',
  },
  {
    key: 'operator-required',
    value: 'no: the Machine Config Operator is part of OpenShift',
    source: `${MCO_DOCS}/UsingLayering.md`,
  },
  {
    key: 'single-node',
    value: 'yes (pool master): no drain, API down during each reboot; on-cluster from 4.19',
    byVariant: { 'off-cluster': 'yes (pool master): no drain, API down during each reboot', 'on-cluster': 'yes from OpenShift 4.19 (pool master): no drain, API down during each reboot' },
    source: `${MCO_DOCS}/SingleNodeOpenShift.md`,
    level: 'yes',
  },
  {
    key: 'unload-on-removal',
    value: 'yes, by a reboot into the stock OS image',
    source: `${MCO_DOCS}/UsingLayering.md#can-i-go-back-once-ive-used-layering`,
  },
  {
    key: 'disconnected',
    value: 'yes: the layered image is built outside the cluster and pushed to the mirror registry the cluster pulls from; the base rhel-coreos image comes from the mirrored release',
    source: 'https://docs.openshift.com/container-platform/4.14/installing/disconnected_install/installing-mirroring-installation-images.html',
    level: 'yes',
  },
];
