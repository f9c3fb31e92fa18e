/**
 * The lab's Kubernetes API server (see server.ts). `startLabApi` makes credentials,
 * starts the server and writes the kubeconfig; the pieces are exported for the lab's
 * controllers and node agent, which talk to it through the API like any client.
 */
import { ensurePki, labStateDir, writeKubeconfig } from './tls.js';
import { LabApiServer, type ApiServerOptions } from './server.js';

export { LabApiServer } from './server.js';
export type { ApiServerOptions } from './server.js';
export { MemoryLogSource } from './log-source.js';
export type { LogSource, LogQuery } from './log-source.js';
export { labStateDir, LAB_CONTEXT } from './tls.js';
export { nodeObject } from './node-object.js';
export type { NodeFacts } from './node-object.js';

export interface StartOptions extends Omit<ApiServerOptions, 'pki'> {
  /** Where the PKI lives (default: the lab state directory). */
  stateDir?: string;
  /** Where to write the kubeconfig (default `<state dir>/kubeconfig`); null: do not write one. */
  kubeconfigOut?: string | null;
}

export async function startLabApi(opts: StartOptions = {}): Promise<{ server: LabApiServer; kubeconfigPath?: string }> {
  const dir = opts.stateDir ?? labStateDir();
  const server = new LabApiServer({ ...opts, pki: ensurePki(dir) });
  await server.start();
  const out = opts.kubeconfigOut === undefined ? `${dir}/kubeconfig` : opts.kubeconfigOut;
  if (out) writeKubeconfig(out, server.kubeconfig());
  return { server, kubeconfigPath: out ?? undefined };
}
