/** `kmodlab rbac`: print the ClusterRole(s) the cluster target needs (YAML, for `oc apply -f -`). */
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { clusterRoles, clusterRolesYaml } from '../../targets/cluster/rbac.js';
import type { CliIO } from '../output.js';

interface RbacFlags {
  observeOnly?: boolean;
  output: string;
}

export function registerRbacCommand(program: Command, io: CliIO): void {
  program
    .command('rbac')
    .description('Print the ClusterRole(s) kmodlab needs on a cluster (derived from the API calls it makes).')
    .option('--observe-only', 'only what `evaluate --observe-only` needs (read verbs)')
    .option('-o, --output <format>', 'yaml (with a header saying what each call is for) | json (a v1 List)', 'yaml')
    .addHelpText(
      'after',
      `
Examples:
  kmodlab rbac --observe-only | oc apply -f -
  kmodlab rbac > kmodlab-roles.yaml
  kmodlab rbac -o json | jq '.items[].metadata.name'`,
    )
    .action((flags: RbacFlags) => {
      const mode = { observeOnly: flags.observeOnly === true };
      if (flags.output === 'yaml') io.stdout(clusterRolesYaml(mode));
      else if (flags.output === 'json') io.stdout(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: clusterRoles(mode) }, null, 2)}\n`);
      else throw new UserError(`-o/--output: unknown format "${flags.output}": expected yaml or json`);
    });
}
