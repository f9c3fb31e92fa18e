/** `kmodlab rbac`: print the ClusterRole(s) the cluster target needs (YAML, for `oc apply -f -`). */
import type { Command } from 'commander';
import { clusterRolesYaml } from '../../targets/cluster/rbac.js';
import type { CliIO } from '../output.js';

interface RbacFlags {
  observeOnly?: boolean;
}

export function registerRbacCommand(program: Command, io: CliIO): void {
  program
    .command('rbac')
    .description('Print the ClusterRole(s) kmodlab needs on a cluster (derived from the API calls it makes).')
    .option('--observe-only', 'only what `evaluate --observe-only` needs (read verbs)')
    .addHelpText(
      'after',
      `
Examples:
  kmodlab rbac --observe-only | oc apply -f -
  kmodlab rbac > kmodlab-roles.yaml`,
    )
    .action((flags: RbacFlags) => {
      io.stdout(clusterRolesYaml({ observeOnly: flags.observeOnly === true }));
    });
}
