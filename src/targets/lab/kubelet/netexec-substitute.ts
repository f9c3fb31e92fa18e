/**
 * LAB-ONLY SUBSTITUTION — not what a cluster runs. The canary (cluster/canary.ts) runs
 * agnhost's `netexec`, an HTTP server; the lab has no agnhost image (its images are
 * Debian release images built offline), so the lab's kubelet runs the node's own busybox
 * `httpd` for such a container instead, serving the same port in the guest: the binary
 * is the guest root's, reached from the container's root through /proc/1/root (the lab's
 * containers share the node's PID namespace and mount /proc). What is probed is still a
 * process in the guest serving HTTP on the pod's port, which a reboot, a crash, a drain or
 * a killed container takes away like the real one. Listed in src/targets/cluster/README.md
 * among the lab's departures from a cluster.
 */

/** The guest's busybox, seen from inside a container's root. */
const GUEST_BUSYBOX = '/proc/1/root/bin/busybox';

/**
 * The argv the lab runs for a container that runs agnhost `netexec` — its args start with
 * `netexec` (the image's entrypoint is agnhost's), or its command is `…/agnhost netexec` —
 * with `--http-port=N` (agnhost's default 8080); undefined for any other container.
 * `GET /` answers 200, as netexec's does.
 */
export function labNetexecArgv(command: string[] | undefined, args: string[] | undefined): string[] | undefined {
  const argv = [...(command ?? []), ...(args ?? [])];
  const i = argv.indexOf('netexec');
  const fromArgs = !command && args?.[0] === 'netexec';
  const fromCommand = i > 0 && /(^|\/)agnhost$/.test(argv[i - 1]!);
  if (!fromArgs && !fromCommand) return undefined;
  const flag = argv.slice(i + 1).find((a) => a.startsWith('--http-port='));
  const port = flag ? Number(flag.slice('--http-port='.length)) : 8080;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const www = '/tmp/kmodlab-netexec';
  return [GUEST_BUSYBOX, 'sh', '-c', `mkdir -p ${www} && echo ok > ${www}/index.html && exec ${GUEST_BUSYBOX} httpd -f -p ${port} -h ${www}`];
}
