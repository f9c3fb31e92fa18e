/**
 * What every method's Containerfile shares: getting the driver source into a build
 * stage, running the driver's own build commands against the kernel in `KVER`, and
 * collecting the built `.ko` files (and firmware) under one directory that later
 * stages copy from. Each method decides where that tree lands (`/lib/modules` for
 * DTK and layering, `/opt/lib/modules` for KMM).
 */
import { canonicalModuleName, moduleFile, moduleParameterWords, type DriverSpec } from '../driver/spec.js';

/** Where the build stage leaves its output: `${OUT}/lib/modules/${KVER}/extra/*.ko`, `${OUT}/lib/firmware/…`. */
export const BUILD_OUT = '/build/out';
export const BUILD_SRC = '/build/src';

export interface SourceOptions {
  /**
   * How a `source.path` driver reaches the build:
   * - `context`: the driver directory is the build context (`COPY . …`);
   * - `image`: a source image built from it (`COPY --from=<image>`), for builders that
   *   take no context, such as KMM's in-cluster build.
   */
  pathSource: 'context' | 'image';
  /** Source image pull spec when `pathSource` is `image`. */
  sourceImage?: string;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Containerfile lines that put the driver source at BUILD_SRC. */
export function sourceLines(driver: DriverSpec, opts: SourceOptions): string[] {
  if ('git' in driver.source) {
    const { url, ref } = driver.source.git;
    if (/^[0-9a-f]{40}$/.test(ref)) {
      return [
        `RUN git init -q ${BUILD_SRC} && cd ${BUILD_SRC} && git fetch -q --depth 1 ${shellQuote(url)} ${ref} && git checkout -q FETCH_HEAD`,
      ];
    }
    return [`RUN git clone -q --depth 1 --branch ${shellQuote(ref)} ${shellQuote(url)} ${BUILD_SRC}`];
  }
  if (opts.pathSource === 'image') {
    if (!opts.sourceImage) throw new Error('sourceLines: pathSource "image" needs sourceImage');
    return [`COPY --from=${opts.sourceImage} /src/ ${BUILD_SRC}/`];
  }
  return [`COPY . ${BUILD_SRC}/`];
}

/** The Containerfile that packs a `source.path` driver into a source image. */
export function sourceImageContainerfile(driver: DriverSpec): string {
  return [
    `# Source image for ${driver.name} ${driver.version}: the driver source, nothing else.`,
    '# Build it from the driver source directory and push it where the cluster can pull:',
    `#   podman build -f Containerfile.source -t <registry>/${driver.name}-source:${driver.version} <driver source dir>`,
    'FROM scratch',
    'COPY . /src/',
    '',
  ].join('\n');
}

export interface BuildLinesOptions {
  /**
   * A file in the stage holding the kernel version, for stages where it is only known
   * at build time (read from another image): the build RUN then starts with
   * `KVER="$(cat <file>)" && export KVER &&`. Default: `KVER` is an ARG or ENV.
   */
  kverFile?: string;
  /** Commands that run before the driver's own, in the same RUN (e.g. a check of the build tree). */
  before?: string[];
}

/**
 * Lines that build the modules against `${KVER}` (an ARG or ENV already set in the
 * stage, or read from `opts.kverFile`) and lay them out under BUILD_OUT. Build commands
 * run verbatim in a shell, so `${KVER}` and `${PWD}` expand there. One RUN: each RUN
 * costs the builder a container start (about 0.6 s with buildah's chroot isolation,
 * measured in the lab), more than the copies that follow the build.
 */
export function buildLines(driver: DriverSpec, opts: BuildLinesOptions = {}): string[] {
  const env = Object.entries(driver.build.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  const cmds = driver.build.commands.map((c) => (env.length ? `${env.join(' ')} ${c}` : c));
  const files = driver.modules.map((m) => shellQuote(moduleFile(m)));
  const kver = opts.kverFile ? `KVER="$(cat ${opts.kverFile})" && export KVER && ` : '';
  // Back in the source directory whatever the build commands did (they may `cd`).
  const layout = [`cd ${BUILD_SRC}`, `mkdir -p ${BUILD_OUT}/lib/modules/\${KVER}/extra`, `cp ${files.join(' ')} ${BUILD_OUT}/lib/modules/\${KVER}/extra/`];
  for (const fw of driver.firmware) layout.push(`install -D -m 0644 ${shellQuote(fw.source)} ${BUILD_OUT}/lib/firmware/${shellQuote(fw.target)}`);
  const conf = modprobeConf(driver);
  if (conf) layout.push(`mkdir -p ${BUILD_OUT}/etc/modprobe.d`, `printf '%s\\n' ${conf.split('\n').map(shellQuote).join(' ')} > ${BUILD_OUT}/etc/modprobe.d/${driver.name}.conf`);
  return [
    `WORKDIR ${BUILD_SRC}`,
    `# The driver's own build commands, then the modules${driver.firmware.length ? ', firmware' : ''}${conf ? ' and modprobe.d options' : ''} laid out under ${BUILD_OUT} for the stage below.`,
    `RUN ${kver}${[...(opts.before ?? []), ...cmds, ...layout].join(' \\\n && ')}`,
  ];
}

/**
 * `options <module> k=v …` lines for modprobe.d, so a plain `modprobe -a <modules>`
 * (which cannot take per-module parameters) still passes the driver's parameters.
 */
export function modprobeConf(driver: DriverSpec): string | undefined {
  const lines = driver.modules
    .map((m) => ({ name: canonicalModuleName(m.name), words: moduleParameterWords(driver, m.name) }))
    .filter((m) => m.words.length > 0)
    .map((m) => `options ${m.name} ${m.words.join(' ')}`);
  return lines.length ? lines.join('\n') : undefined;
}

/** Module names as modprobe takes them, in load order. */
export function loadOrder(driver: DriverSpec): string[] {
  return driver.modules.map((m) => canonicalModuleName(m.name));
}

/** `modprobe -v -a m1 m2` (load order). */
export function modprobeLoad(driver: DriverSpec, extraArgs: string[] = []): string {
  return ['modprobe', '-v', ...extraArgs, '-a', ...loadOrder(driver)].join(' ');
}

/** `modprobe -v -r -a m2 m1` (reverse of load order). */
export function modprobeUnload(driver: DriverSpec, extraArgs: string[] = []): string {
  return ['modprobe', '-v', ...extraArgs, '-r', '-a', ...[...loadOrder(driver)].reverse()].join(' ');
}
