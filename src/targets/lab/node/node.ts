/**
 * LabNode: one QEMU virtual machine booting a real kernel with the lab initramfs,
 * driven through its agent. Lifecycle:
 *   start  → launch QEMU, wait for the agent's hello, resync   (state 'ready')
 *   reboot → the guest resets; QEMU (-no-reboot) exits; we relaunch, possibly with
 *            another kernel. The boot id changes, as on a real reboot.
 *   QEMU exits on its own → 'crashed' (a panic resets at once: panic=-1), with the
 *            panic text taken from the console log.
 *   stop / poweroff → 'stopped'. Every QEMU is also killed when kmodlab exits
 *            (registry.ts).
 * A node started with `uefi` boots through OVMF with Secure Boot on (q35) and, with
 * `mokCerts`, has those certificates enrolled as Machine Owner Keys before start()
 * returns: the lab's stand-in for shim's MokManager (uefi.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../host/cache.js';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabKernel } from '../kernels/catalog.js';
import { extractVmlinux } from '../kernels/vmlinux.js';
import { buildInitramfs, type Initramfs } from '../os-image/initramfs.js';
import { hostTscKhz } from '../host/tsc.js';
import { requireTool } from '../host/tools.js';
import { AgentClient, AgentClosedError, AgentTimeoutError, type AgentResult } from './agent-client.js';
import { qemuCommand } from './qemu.js';
import { certSubjectKeyId, checkEnrollment, readCertificateDer, EFI_ATTR_NV_BS_RT, efivarfsContent, enrolledVarsCachePath, MOKLIST_RT_FILE, ovmfFiles, prepareNodeVars, x509SignatureLists, type UefiFirmware } from './uefi.js';
import { trackProcess, trackScratch, untrackProcess, untrackScratch } from './registry.js';

export interface LabNodeOptions {
  name: string;
  /** Guest RAM (MiB); default 256, 512 for a UEFI node. */
  memoryMB?: number;
  /** Host directory shared read-write at /mnt/share in the node (9p). */
  shareDir?: string;
  shareReadOnly?: boolean;
  /** A read-only disk image the node sees as /dev/vda (an OS image turned into erofs). */
  disk?: string;
  /** Where `<name>.console.log` goes (created if missing). */
  runDir: string;
  /** Appended to the kernel command line. */
  cmdline?: string;
  /** Boot (QEMU start → agent ready) timeout; default 90 s (TCG on a busy 2-core host), 270 s with `uefi`. */
  bootTimeoutMs?: number;
  /** Default timeout of one agent request; default 60 s. */
  requestTimeoutMs?: number;
  /**
   * Boot through UEFI firmware (OVMF, Secure Boot on, `-M q35`) instead of the fast
   * microvm path. `mokCerts`: certificate files (DER or PEM) to enroll as Machine Owner Keys (uefi.ts).
   */
  uefi?: { mokCerts?: readonly string[]; varsCacheDir?: string };
  /** Host port (127.0.0.1) forwarded to the guest's port CANARY_GUEST_PORT on every boot (QEMU user networking). */
  canaryPort?: number;
}

/** What the node reported after its MOK enrollment (uefi.ts checkEnrollment). */
export interface MokEnrollment {
  /** From the cache of enrolled variable stores (no enrollment boot in this run). */
  cached: boolean;
  /** Keys in the `.machine` / `.platform` keyrings after the boot that read MokListRT. */
  machineKeys: number;
  platformKeys: number;
  /** Host ms of the enrollment (write MokListRT, reboot, check); 0 when cached. */
  enrollMs: number;
}

export type NodeState = 'booting' | 'ready' | 'rebooting' | 'stopped' | 'crashed';

export type NodeFailure = 'boot-timeout' | 'qemu-exited' | 'agent-timeout' | 'panic' | 'not-ready';

/**
 * `kernel`: boot another kernel (a kernel switch/upgrade); `disk`: the OS disk the next boots
 * see (null: none); `kernelArguments`: the machine config's kernel arguments from this boot
 * on (as rpm-ostree kargs sets them for the next boots), appended to the lab's own.
 */
export interface RebootOptions {
  kernel?: LabKernel;
  initramfs?: Initramfs | string;
  disk?: string | null;
  kernelArguments?: string[];
  exitTimeoutMs?: number;
}

export class LabNodeError extends Error {
  override readonly name = 'LabNodeError';
  constructor(
    readonly node: string,
    readonly failure: NodeFailure,
    message: string,
    /** Last lines of this boot's console. */
    readonly consoleTail = '',
  ) {
    super(`node ${node}: ${message}${consoleTail ? `\n--- console (last lines) ---\n${consoleTail}` : ''}`);
  }
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BootRecord {
  /** The kernel the guest reports (`uname -r` in the agent's hello). */
  kver: string;
  /** The kernel the lab meant to boot; differs from `kver` when the wrong image booted. */
  intendedKver: string;
  bootId: string;
  /** QEMU spawn → agent answered the resync. */
  bootMs: number;
  startedAt: Date;
}

interface Launch {
  child: ChildProcess;
  server: Server;
  sockDir: string;
  agent?: AgentClient;
  consoleOffset: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string[];
  expectExit: boolean;
}

const PANIC_RE = /(Kernel panic - not syncing.*|BUG: .*|Oops: .*|general protection fault.*)/;


export class LabNode {
  readonly name: string;
  readonly consoleLog: string;
  private readonly opts: Required<Pick<LabNodeOptions, 'memoryMB' | 'bootTimeoutMs' | 'requestTimeoutMs'>> & LabNodeOptions;
  private launch: Launch | undefined;
  private _state: NodeState = 'stopped';
  private _kernel: LabKernel;
  private _initramfs: string;
  private _failure: LabNodeError | undefined;
  private readonly firmware: UefiFirmware | undefined;
  /** One record per boot of this node, oldest first. */
  readonly boots: BootRecord[] = [];
  /** Set when the node was started with MOK certificates to enroll. */
  mok: MokEnrollment | undefined;

  private constructor(kernel: LabKernel, initramfs: string, opts: LabNodeOptions) {
    // Explicit `undefined` in opts must not erase a default.
    // Firmware start-up under TCG (OVMF with SMM) adds tens of seconds to a boot: a UEFI node gets 3× the time.
    // UEFI nodes get more memory: OVMF keeps part of it, and with 256 MiB its EFI stub sometimes
    // failed to place the initrd ("Failed to load initrd: 0x8000000000000009", EFI_OUT_OF_RESOURCES).
    this.opts = { ...opts, memoryMB: opts.memoryMB ?? (opts.uefi ? 512 : 256), bootTimeoutMs: opts.bootTimeoutMs ?? (opts.uefi ? 270_000 : 90_000), requestTimeoutMs: opts.requestTimeoutMs ?? 60_000 };
    this.name = opts.name;
    this._kernel = kernel;
    this._initramfs = initramfs;
    mkdirSync(opts.runDir, { recursive: true });
    this.consoleLog = join(opts.runDir, `${opts.name}.console.log`);
    writeFileSync(this.consoleLog, ''); // a new node starts a new log; its reboots append
    if (opts.uefi) {
      const { code } = ovmfFiles();
      // The node's own variable store: its firmware writes to it, and it lives as long as the node's run dir.
      this.firmware = { code, vars: join(opts.runDir, `${opts.name}.OVMF_VARS.fd`) };
    }
  }

  /**
   * Boot a node. `initramfs` may be omitted: the lab image for that kernel is built
   * (or taken from the cache).
   */
  static async start(kernel: LabKernel, initramfs: Initramfs | string | undefined, opts: LabNodeOptions): Promise<LabNode> {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(opts.name)) throw new Error(`invalid node name ${JSON.stringify(opts.name)}`);
    const image = await resolveInitramfs(kernel, initramfs);
    const node = new LabNode(kernel, image, opts);
    const certs = (opts.uefi?.mokCerts ?? []).map((f) => readCertificateDer(f));
    let enrollTo: string | undefined;
    if (node.firmware) {
      const { varsTemplate } = ovmfFiles();
      const cache = certs.length ? enrolledVarsCachePath(certs, varsTemplate, opts.uefi?.varsCacheDir) : undefined;
      if (prepareNodeVars(node.firmware.vars, varsTemplate, cache).needsEnroll) enrollTo = cache;
      else if (cache) node.mok = { cached: true, machineKeys: 0, platformKeys: 0, enrollMs: 0 };
    }
    await node.boot();
    try {
      if (enrollTo) await node.enrollMok(certs, enrollTo);
      else if (certs.length) await node.checkMok(certs);
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  get state(): NodeState {
    return this._state;
  }
  get kernel(): LabKernel {
    return this._kernel;
  }
  /** The initramfs the node boots (its next reboot too, unless told otherwise). */
  get initramfs(): string {
    return this._initramfs;
  }
  get pid(): number | undefined {
    return this.launch?.child.pid;
  }
  /** Why the node crashed (state 'crashed'), with the console tail. */
  get failure(): LabNodeError | undefined {
    return this._failure;
  }
  /** Host port forwarded to the guest's canary port, if any. */
  get canaryPort(): number | undefined {
    return this.opts.canaryPort;
  }
  /** Boot id the agent reported at the latest boot. */
  get currentBootId(): string | undefined {
    return this.boots.at(-1)?.bootId;
  }

  /**
   * Shim's part after `mokutil --import` (see uefi.ts): put the certificates into MokListRT
   * (NV|BS|RT, via efivarfs), reboot so the kernel reads them, and keep the enrolled
   * variable store in the cache once the kernel has taken the keys (checkMok).
   */
  private async enrollMok(certs: Buffer[], cacheFile: string): Promise<void> {
    const t0 = Date.now();
    const content = efivarfsContent(EFI_ATTR_NV_BS_RT, x509SignatureLists(certs)).toString('base64');
    // One write(2): efivarfs takes a variable's whole value in a single write.
    const file = `/sys/firmware/efi/efivars/${MOKLIST_RT_FILE}`;
    const w = await this.exec(`echo '${content}' | base64 -d > /tmp/moklist.var && dd if=/tmp/moklist.var of=${file} bs=1M 2>&1 && rm /tmp/moklist.var`);
    if (w.code !== 0) throw new LabNodeError(this.name, 'not-ready', `cannot write ${file} (MOK enrollment): ${(w.stdout + w.stderr).trim()}`);
    await this.reboot();
    await this.checkMok(certs);
    // Enrolled and taken by the kernel: later nodes start from this variable store.
    writeFileAtomic(cacheFile, readFileSync(this.firmware!.vars));
    this.mok = { ...this.mok!, cached: false, enrollMs: Date.now() - t0 };
  }

  /** The kernel booted with Secure Boot and loaded every enrolled certificate (by subject key id) into a keyring. */
  private async checkMok(certs: Buffer[]): Promise<void> {
    const [dmesg, keys] = [await this.dmesg(), await this.readFile('/proc/keys')];
    for (const der of certs) {
      const c = checkEnrollment(dmesg, keys, await certSubjectKeyId(der));
      const why = !c.secureBoot
        ? 'the kernel did not boot with Secure Boot enabled (no "secureboot: Secure boot enabled"), so it ignores MokListRT'
        : !c.found
          ? `the kernel did not load the certificate from MokListRT (.machine: ${c.machineKeys} keys, .platform: ${c.platformKeys})`
          : undefined;
      if (why) throw new LabNodeError(this.name, 'not-ready', `MOK enrollment failed: ${why}`, this.consoleTail(this.launch!));
      this.mok = { cached: this.mok?.cached ?? false, enrollMs: this.mok?.enrollMs ?? 0, machineKeys: c.machineKeys, platformKeys: c.platformKeys };
    }
  }

  private async boot(): Promise<void> {
    this._state = 'booting';
    this._failure = undefined;
    // OVMF starts the kernel through its EFI stub (the compressed image); microvm boots the ELF via PVH.
    const vmlinux = this.firmware ? this._kernel.vmlinuz : await extractVmlinux(this._kernel.vmlinuz);
    // Fail on setup problems (no QEMU, unknown TSC rate) before creating anything to clean up.
    const tscKhz = hostTscKhz();
    requireTool('qemu-system-x86_64');
    // A short path: unix socket paths are limited to 108 bytes, runDir may be long.
    const sockDir = mkdtempSync(join(tmpdir(), 'kmodlab-node-'));
    trackScratch(sockDir);
    const agentSocket = join(sockDir, 'agent.sock');
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(agentSocket, () => resolve());
    });
    const connected = new Promise<Socket>((resolve) => server.once('connection', resolve));

    const consoleOffset = existsSync(this.consoleLog) ? statSync(this.consoleLog).size : 0;
    const { cmd, args } = qemuCommand({
      name: this.name,
      vmlinux,
      initramfs: this._initramfs,
      memoryMB: this.opts.memoryMB,
      agentSocket,
      consoleLog: this.consoleLog,
      shareDir: this.opts.shareDir,
      shareReadOnly: this.opts.shareReadOnly,
      disk: this.opts.disk,
      tscKhz,
      extraCmdline: [this.opts.cmdline, ...this.configArgs].filter(Boolean).join(' ') || undefined,
      uefi: this.firmware,
      canaryPort: this.opts.canaryPort,
    });
    const t0 = Date.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    trackProcess(child);
    const stderr: string[] = [];
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      stderr.push(s);
      if (stderr.length > 50) stderr.shift();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    const launch: Launch = { child, server, sockDir, consoleOffset, exited, stderr, expectExit: false };
    this.launch = launch;
    void exited.then((how) => this.onExit(launch, how));

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.opts.bootTimeoutMs);
    });
    try {
      const sock = await Promise.race([connected, exited.then(() => 'exited' as const), timeout]);
      if (sock === 'exited' || sock === 'timeout') throw this.bootFailure(launch, sock);
      const agent = new AgentClient(sock);
      launch.agent = agent;
      const hello = await Promise.race([agent.waitHello(), exited.then(() => 'exited' as const), timeout]);
      if (hello === 'exited' || hello === 'timeout') throw this.bootFailure(launch, hello);
      await agent.sync(10_000);
      this.boots.push({ kver: hello.kernelRelease, intendedKver: this._kernel.kver, bootId: hello.bootId, bootMs: Date.now() - t0, startedAt: new Date(t0) });
      this._state = 'ready';
    } catch (e) {
      launch.expectExit = true;
      await this.kill(launch);
      this._state = 'crashed';
      if (e instanceof LabNodeError) this._failure = e;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The first panic/oops line of this boot (the whole boot's console is searched: a trace is long). */
  private panicLine(launch: Launch): string | undefined {
    const text = this.consoleText(launch);
    return /(Kernel panic - not syncing.*)/.exec(text)?.[1] ?? PANIC_RE.exec(text)?.[1];
  }

  private bootFailure(launch: Launch, why: 'exited' | 'timeout'): LabNodeError {
    const tail = this.consoleTail(launch);
    const panic = this.panicLine(launch);
    if (why === 'timeout') {
      return new LabNodeError(this.name, 'boot-timeout', `agent not ready within ${this.opts.bootTimeoutMs} ms`, tail);
    }
    if (panic) return new LabNodeError(this.name, 'panic', `kernel panic during boot: ${panic}`, tail);
    const err = launch.stderr.join('').trim();
    return new LabNodeError(this.name, 'qemu-exited', `QEMU exited during boot${err ? `: ${err}` : ''}`, tail);
  }

  private onExit(launch: Launch, how: { code: number | null; signal: NodeJS.Signals | null }): void {
    untrackProcess(launch.child);
    launch.agent?.close();
    launch.server.close();
    rmSync(launch.sockDir, { recursive: true, force: true });
    untrackScratch(launch.sockDir);
    if (this.launch !== launch || launch.expectExit) return;
    // Nobody asked it to go: the guest reset (panic=-1 → reset → -no-reboot exit) or QEMU died.
    const tail = this.consoleTail(launch);
    const panic = this.panicLine(launch);
    this._failure = panic
      ? new LabNodeError(this.name, 'panic', `kernel panic: ${panic}`, tail)
      : new LabNodeError(this.name, 'qemu-exited', `QEMU exited unexpectedly (code ${how.code}, signal ${how.signal})`, tail);
    this._state = 'crashed';
  }

  /** This boot's console output (the log accumulates across reboots). */
  consoleText(launch = this.launch): string {
    if (!existsSync(this.consoleLog)) return '';
    const offset = launch?.consoleOffset ?? 0;
    const size = statSync(this.consoleLog).size;
    if (size <= offset) return '';
    const fd = openSync(this.consoleLog, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  }

  private consoleTail(launch: Launch, lines = 40): string {
    return this.consoleText(launch).split('\n').slice(-lines).join('\n').trim();
  }

  private readyAgent(): AgentClient {
    const agent = this.launch?.agent;
    if (this._state !== 'ready' || !agent || agent.isClosed) {
      throw (
        this._failure ?? new LabNodeError(this.name, 'not-ready', `node is ${this._state}, not ready`)
      );
    }
    return agent;
  }

  private async request(op: 'run' | 'read' | 'dmesg', arg: string | undefined, timeoutMs?: number): Promise<AgentResult> {
    const agent = this.readyAgent();
    try {
      return await agent.request(op, arg, timeoutMs ?? this.opts.requestTimeoutMs);
    } catch (e) {
      // The channel closing usually means QEMU is going away: wait for its exit so the
      // exit handler can classify it (panic from the console) before we report.
      const launch = this.launch;
      if (launch && e instanceof AgentClosedError) await Promise.race([launch.exited, sleep(3_000)]);
      if (this._failure) throw this._failure;
      if (e instanceof AgentTimeoutError) {
        throw new LabNodeError(this.name, 'agent-timeout', e.message, launch ? this.consoleTail(launch) : '');
      }
      throw e;
    }
  }

  /** Run a shell command (busybox sh) in the node. */
  async exec(command: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const r = await this.request('run', command, opts.timeoutMs);
    return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
  }

  /** Contents of a file in the node; throws if it cannot be read. */
  async readFile(path: string): Promise<string> {
    const r = await this.request('read', path);
    if (r.code !== 0) throw new Error(`node ${this.name}: cannot read ${path}: ${r.stderr.toString('utf8').trim()}`);
    return r.stdout.toString('utf8');
  }

  async dmesg(): Promise<string> {
    return (await this.request('dmesg', undefined)).stdout.toString('utf8');
  }

  /** The kernel's boot id, read now (changes on every boot). */
  async bootId(): Promise<string> {
    return (await this.readFile('/proc/sys/kernel/random/boot_id')).trim();
  }

  /** QEMU's resident memory on the host, in KiB (the node's real cost). */
  hostRssKB(): number | undefined {
    const pid = this.pid;
    if (!pid) return undefined;
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m?.[1] ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Reboot: the guest resets itself (QEMU exits thanks to -no-reboot) and the host
   * relaunches it, with `kernel` if given (a kernel switch/upgrade). A guest that
   * does not answer is reset from the host. `disk`: the OS disk the next boots see
   * (an OS image's root, boot-os-image.ts); null: none. Returns the new boot record.
   */
  reboot(opts: RebootOptions = {}): Promise<BootRecord> {
    // One reboot at a time: a second caller (a rollout rebooting a node that the crash
    // policy is restarting, crash-restart.ts) waits for the first boot, then reboots it again.
    const next = this.rebooting.then(() => this.rebootNow(opts));
    this.rebooting = next.catch(() => undefined);
    return next;
  }

  private rebooting: Promise<unknown> = Promise.resolve();
  /** The kernel arguments of the node's machine config (the MCO's kernelArguments), after the lab's own. */
  private configArgs: string[] = [];

  private async rebootNow(opts: RebootOptions): Promise<BootRecord> {
    const launch = this.launch;
    if (launch && !launch.child.killed && launch.child.exitCode === null && launch.child.signalCode === null) {
      launch.expectExit = true;
      this._state = 'rebooting';
      if (launch.agent && !launch.agent.isClosed) {
        await launch.agent.request('reboot', undefined, 5_000).catch(() => undefined);
      }
      const gone = await Promise.race([launch.exited.then(() => true), sleep(opts.exitTimeoutMs ?? 20_000).then(() => false)]);
      if (!gone) await this.kill(launch);
    }
    if (opts.kernel) {
      this._kernel = opts.kernel;
      this._initramfs = await resolveInitramfs(opts.kernel, opts.initramfs);
    } else if (opts.initramfs) {
      this._initramfs = await resolveInitramfs(this._kernel, opts.initramfs);
    }
    if (opts.disk !== undefined) this.opts.disk = opts.disk ?? undefined;
    if (opts.kernelArguments) this.configArgs = [...opts.kernelArguments];
    await this.boot();
    return this.boots.at(-1)!;
  }

  /** Orderly power-off from inside the guest, then make sure QEMU is gone. */
  async poweroff(timeoutMs = 15_000): Promise<void> {
    const launch = this.launch;
    if (!launch) return;
    launch.expectExit = true;
    if (launch.agent && !launch.agent.isClosed && this._state === 'ready') {
      await launch.agent.request('poweroff', undefined, 5_000).catch(() => undefined);
    }
    const gone = await Promise.race([launch.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!gone) await this.kill(launch);
    this._state = 'stopped';
  }

  /** Kill QEMU now (pulling the plug). Idempotent. */
  async stop(): Promise<void> {
    const launch = this.launch;
    if (!launch) return;
    launch.expectExit = true;
    await this.kill(launch);
    if (this._state !== 'crashed') this._state = 'stopped';
  }

  private async kill(launch: Launch): Promise<void> {
    if (launch.child.exitCode === null && launch.child.signalCode === null) {
      launch.child.kill('SIGKILL');
    }
    await launch.exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

async function resolveInitramfs(kernel: LabKernel, initramfs: Initramfs | string | undefined): Promise<string> {
  if (typeof initramfs === 'string') return initramfs;
  if (initramfs) {
    if (initramfs.kver !== kernel.kver) throw new Error(`initramfs for ${initramfs.kver} cannot boot kernel ${kernel.kver}`);
    return initramfs.path;
  }
  return (await buildInitramfs({ kernel })).path;
}
