/**
 * The lab API server's own process: `node dist/targets/lab/api-server/main.js
 * --kubeconfig-out <file> [--port <n>]`. `kmodlab lab api` and `lab up` run this lean entry
 * rather than the whole CLI, so the server's memory is the server's (no CLI, renderers or
 * client libraries loaded). Serves until SIGINT/SIGTERM.
 */
import { startLabApi } from './index.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const out = flag('--kubeconfig-out');
const port = Number(flag('--port') ?? '0');
if (!out || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: main.js --kubeconfig-out <file> [--port <0-65535>]\n');
  process.exit(2);
}
const { server } = await startLabApi({ kubeconfigOut: out, port });
process.stderr.write(`lab API serving on ${server.url}; kubeconfig: ${out}\n`);
const stop = async () => {
  await server.stop();
  process.stderr.write('lab API stopped\n');
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
