/**
 * What the node's kernel says about a module, read from /sys/module — "loaded" means
 * seen there, never inferred from a controller's status.
 */
import { canonicalModuleName } from '../../../driver/spec.js';
import type { LabNode } from '../node/node.js';

export interface ModuleState {
  module: string;
  loaded: boolean;
  coresizeBytes?: number;
  /** Taint flags of the module (`O` out-of-tree, `E` unsigned, …). */
  taint?: string;
  /** False when the kernel flagged it unsigned (taint `E`). */
  signed?: boolean;
  initstate?: string;
}

/** One round trip for all modules: prints `name|present|coresize|taint|initstate` per module. */
function probeScript(modules: string[]): string {
  return modules
    .map((m) => {
      const d = `/sys/module/${m}`;
      return `if [ -d ${d} ]; then echo "${m}|1|$(cat ${d}/coresize 2>/dev/null)|$(cat ${d}/taint 2>/dev/null)|$(cat ${d}/initstate 2>/dev/null)"; else echo "${m}|0|||"; fi`;
    })
    .join('\n');
}

export async function probeModules(node: LabNode, modules: string[]): Promise<ModuleState[]> {
  const names = modules.map(canonicalModuleName);
  const r = await node.exec(probeScript(names));
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [module = '', present, coresize, taint, initstate] = line.split('|');
      if (present !== '1') return { module, loaded: false };
      return {
        module,
        loaded: initstate === 'live' || initstate === '',
        coresizeBytes: coresize ? Number(coresize) : undefined,
        taint: taint ?? '',
        signed: !(taint ?? '').includes('E'),
        initstate: initstate || undefined,
      };
    });
}
