/**
 * Custom MachineConfigPools (`--pool infra`, `--pool gpu`): GPU and accelerator nodes
 * usually live in a pool of their own. OpenShift's pattern for a custom pool (OpenShift
 * docs "Creating a custom machine config pool"; openshift/machine-config-operator
 * docs/custom-pools.md): the pool selects the `worker` MachineConfigs plus its own
 * (`machineconfiguration.openshift.io/role In [worker, <pool>]`), and nodes join it by the
 * label `node-role.kubernetes.io/<pool>` (they keep their worker label). A node can be in
 * at most one custom pool.
 */
import type { K8sObject } from '../artifacts/artifact-set.js';
import { UserError } from '../errors.js';
import { ANNOTATION_INSTALL_PHASE } from '../labels.js';

/** The pools every cluster has (no MachineConfigPool to render). */
export const BUILT_IN_POOLS: readonly string[] = ['worker', 'master'];
export const MC_ROLE_LABEL = 'machineconfiguration.openshift.io/role';

/** A MachineConfigPool name is a Kubernetes object name; kmodlab also puts it in a node label key, so a DNS-1123 label. */
export const POOL_NAME_PATTERN = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const POOL_NAME_EXPECTED = 'expected a MachineConfigPool name (DNS-1123 label: at most 63 lower-case letters, digits, "-"), e.g. worker, master, infra, gpu';

/** `--pool` as every command takes it (render, evaluate --target cluster): any pool name, checked once here. */
export function poolFlag(value: string | undefined): string {
  const pool = value ?? 'worker';
  if (!POOL_NAME_PATTERN.test(pool)) throw new UserError(`--pool ${pool}: ${POOL_NAME_EXPECTED}`);
  return pool;
}

export function isCustomPool(pool: string): boolean {
  return !BUILT_IN_POOLS.includes(pool);
}

/** The node label that puts a node into `pool` (and that DaemonSets select on). */
export function nodeRoleLabel(pool: string): string {
  return `node-role.kubernetes.io/${pool}`;
}

/** The MachineConfigPool of a custom pool; `labels` are the caller's standard labels. */
export function customMachineConfigPool(pool: string, labels: Record<string, string>, day1 = false): K8sObject {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfigPool',
    metadata: {
      name: pool,
      labels,
      ...(day1 ? { annotations: { [ANNOTATION_INSTALL_PHASE]: 'day1' } } : {}),
    },
    spec: {
      machineConfigSelector: { matchExpressions: [{ key: MC_ROLE_LABEL, operator: 'In', values: ['worker', pool] }] },
      nodeSelector: { matchLabels: { [nodeRoleLabel(pool)]: '' } },
    },
  };
}

/**
 * README lines (Markdown) saying how nodes join and leave a custom pool. `mcpFile` is the
 * rendered MachineConfigPool file, when the method renders one.
 */
export function customPoolSteps(pool: string, mcpFile?: string): string[] {
  const label = nodeRoleLabel(pool);
  return [
    `**Custom pool \`${pool}\`.** Nodes join it by the label \`${label}\` (they keep \`node-role.kubernetes.io/worker\`); a node can be in only one custom pool.${
      mcpFile
        ? ` \`${mcpFile}\` is its MachineConfigPool: it selects the \`worker\` MachineConfigs plus those labelled \`${MC_ROLE_LABEL}: ${pool}\`, so the nodes keep every worker setting. If the pool already exists (\`oc get mcp ${pool}\`), keep yours and skip that file.`
        : ''
    }`,
    '',
    '```sh',
    ...(mcpFile ? [`oc apply -f ${mcpFile}`] : []),
    // Not yet in the pool: pick from the workers (readme-shell.ts leaves a block that sets NODE alone).
    `NODE=$(oc get nodes -l ${nodeRoleLabel('worker')} -o jsonpath='{.items[0].metadata.name}')   # a worker to move into pool ${pool}; for another one: NODE=<name from oc get nodes>`,
    `oc label node "$NODE" ${label}=          # repeat for each node that gets the driver`,
    `oc get nodes -l ${label}`,
    '```',
    '',
    `Machines created later get the label from their MachineSet: add \`${label}: ""\` under \`spec.template.spec.metadata.labels\` of that MachineSet.`,
    `To take a node out of the pool: \`oc label node <node> ${label}-\` (it goes back to the worker pool's configuration).`,
  ];
}
