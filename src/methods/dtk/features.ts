/** What the dtk method does and does not do, with where each fact comes from. */
import type { FeatureFact } from '../method.js';

const DTK_DOCS = 'https://docs.openshift.com/container-platform/4.14/hardware_enablement/psap-driver-toolkit.html';
const DTK_IMAGESTREAM = 'https://github.com/openshift/driver-toolkit/blob/master/manifests/01-openshift-imagestream.yaml';
const DTK_IMAGESTREAM_DOC = 'https://github.com/openshift/driver-toolkit/blob/master/docs/driver_toolkit_imagestream.md';
const DTK_README = 'https://github.com/openshift/driver-toolkit/blob/master/README.md';
const HOOKS = 'https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/';
const INSTALL_MANIFESTS = 'https://docs.openshift.com/container-platform/4.14/installing/install_config/installing-customizing.html';

export const DTK_FEATURES: readonly FeatureFact[] = [
  {
    key: 'reboot-required',
    value: 'no: the pod loads the module into the running kernel',
    source: DTK_DOCS,
    level: 'no',
  },
  {
    key: 'follows-kernel-upgrades',
    value:
      'pinned: no (image built for one kernel; rebuild per release); tracking: partly (rebuilds when openshift/driver-toolkit:latest moves, rolls pods; a node lacks the driver between its pod update and its reboot)',
    byVariant: {
      pinned: 'no: the image is built for one kernel; after an upgrade the pod cannot load it (rebuild per release)',
      tracking: 'partly: rebuilt when openshift/driver-toolkit:latest moves, pods rolled; a node lacks the driver between its pod update and its reboot',
    },
    source: DTK_IMAGESTREAM_DOC,
    level: { pinned: 'no', tracking: 'partly' },
  },
  {
    key: 'day1-support',
    value: 'after the cluster is up only: a prebuilt image, loaded once the pod is scheduled (not at first boot)',
    byVariant: {
      tracking: 'no install-time form: tracking builds from the cluster\'s openshift/driver-toolkit:latest; install with pinned, then apply tracking',
    },
    source: INSTALL_MANIFESTS,
    level: 'no',
  },
  {
    key: 'in-cluster-build',
    value: 'yes: BuildConfig (docker strategy) FROM the driver-toolkit image; needs the internal image registry (Managed, with storage)',
    source: DTK_DOCS,
  },
  {
    key: 'module-signing',
    value: 'yes, at build time when the driver spec has signing: sign-file in the builder stage, key from BuildConfig build volumes / podman --secret (never in a layer); the key must be enrolled (MOK) by you',
    source: DTK_DOCS,
    level: 'partly',
  },
  {
    key: 'resident-components',
    value: 'one privileged pod per node (sleep infinity)',
    source: DTK_README,
  },
  {
    key: 'privileged-workload',
    value: 'yes: privileged container, ServiceAccount allowed the privileged SCC',
    source: DTK_DOCS,
    level: 'yes',
  },
  {
    key: 'operator-required',
    value: 'no (Node Feature Discovery optional: pinned keeps pods off nodes it reports with another kernel)',
    source: DTK_DOCS,
  },
  {
    key: 'single-node',
    value: 'yes (--pool master; the driver-toolkit ImageStream ships on single-node clusters)',
    source: DTK_IMAGESTREAM,
    level: 'yes',
  },
  {
    key: 'unload-on-removal',
    value: 'best effort: preStop modprobe -r; a failing hook does not block pod deletion, and it does not run on node reboot',
    source: HOOKS,
  },
  {
    key: 'disconnected',
    value: 'yes: the driver-toolkit image is part of the release payload (mirrored with it); the build needs the internal registry and the driver source sent with oc start-build --from-dir',
    source: 'https://docs.openshift.com/container-platform/4.14/installing/disconnected_install/installing-mirroring-installation-images.html',
    level: 'yes',
  },
];
