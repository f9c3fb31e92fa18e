/**
 * DriverSpec: what kmodlab needs to know about an out-of-tree driver to deliver it
 * with any method. Written by users as YAML (see drivers/simple-kmod/driver.yaml).
 * The zod schema is the single source of truth: TypeScript types and the run-time
 * check both come from it.
 */
import { z } from 'zod';
import { DNS1123_LABEL } from '../names.js';

/** Kernel module names as the kernel sees them (kbuild turns '-' into '_'). */
const moduleName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'expected a kernel module name (letters, digits, "_" or "-"), e.g. simple_kmod');

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
    message: 'expected a path relative to the driver source, without ".."',
  });

export const DriverSourceSchema = z.union([
  z
    .object({
      git: z.strictObject({
        url: z.string().min(1, 'expected a git URL'),
        ref: z.string().min(1, 'expected a branch, tag or commit').default('main'),
      }),
    })
    .strict(),
  z
    .object({
      /** Relative to the driver.yaml file. */
      path: z.string().min(1, 'expected a directory path'),
    })
    .strict(),
]);

export const DriverModuleSchema = z.strictObject({
  name: moduleName,
  /** Where the built .ko is, relative to the build directory; default `<name>.ko`. */
  file: relativePath.optional(),
});

export const DEFAULT_BUILD_COMMANDS = ['make -C /lib/modules/${KVER}/build M=${PWD} modules'] as const;

export const DriverBuildSchema = z.strictObject({
  /** Shell commands run in the source directory; `${KVER}` is the target kernel. */
  commands: z.array(z.string().min(1)).min(1).default([...DEFAULT_BUILD_COMMANDS]),
  /** Extra environment for the build. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string()).default({}),
});

export const FirmwareSchema = z.strictObject({
  /** File in the driver source. */
  source: relativePath,
  /** Path under /lib/firmware on the node. */
  target: relativePath,
});

export const SigningSchema = z.strictObject({
  /** Secret holding the private key (key `key`), as KMM's `sign.keySecret`. */
  keySecret: z.string().regex(DNS1123_LABEL, 'expected a Secret name (DNS-1123 label)'),
  /** Secret holding the public certificate (key `cert`), as KMM's `sign.certSecret`. */
  certSecret: z.string().regex(DNS1123_LABEL, 'expected a Secret name (DNS-1123 label)'),
  /** Files to sign inside the driver image; default: every module of the driver. */
  filesToSign: z.array(z.string().min(1)).optional(),
});

const parameterValue = z.union([z.string(), z.number(), z.boolean()]);

export const DriverSpecSchema = z
  .strictObject({
    apiVersion: z.literal('kmodlab.io/v1alpha1').default('kmodlab.io/v1alpha1'),
    kind: z.literal('Driver').default('Driver'),
    name: z
      .string()
      .max(40, 'expected at most 40 characters (it prefixes Kubernetes object names)')
      .regex(DNS1123_LABEL, 'expected a DNS-1123 label: lower-case letters, digits and "-", e.g. simple-kmod'),
    description: z.string().optional(),
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a version such as 1.0.0').default('1.0.0'),
    source: DriverSourceSchema,
    build: DriverBuildSchema.default({ commands: [...DEFAULT_BUILD_COMMANDS], env: {} }),
    /** Module names in load order: the first is loaded first and unloaded last. */
    modules: z.array(z.union([moduleName.transform((name) => ({ name })), DriverModuleSchema])).min(1, 'expected at least one module'),
    /** In-tree modules that must be unloaded first (e.g. an older in-tree copy). */
    inTreeModulesToRemove: z.array(moduleName).default([]),
    firmware: z.array(FirmwareSchema).default([]),
    signing: SigningSchema.optional(),
    /** Per-module parameters, `{ module: { param: value } }`. */
    moduleParameters: z.record(moduleName, z.record(z.string().regex(/^[A-Za-z0-9_]+$/, 'expected a parameter name'), parameterValue)).default({}),
  })
  .superRefine((spec, ctx) => {
    const names = spec.modules.map((m) => canonicalModuleName(m.name));
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['modules', i, 'name'], message: `module "${n}" is listed twice` });
    });
    for (const mod of Object.keys(spec.moduleParameters)) {
      if (!names.includes(canonicalModuleName(mod))) {
        ctx.addIssue({
          code: 'custom',
          path: ['moduleParameters', mod],
          message: `no module named "${mod}" in modules (expected one of: ${names.join(', ')})`,
        });
      }
    }
  });

export type DriverSpecInput = z.input<typeof DriverSpecSchema>;
export type DriverSpec = z.output<typeof DriverSpecSchema>;
export type DriverModule = DriverSpec['modules'][number];

/** kbuild and modprobe treat '-' and '_' alike; the kernel reports '_'. */
export function canonicalModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/** Module names in load order. */
export function moduleNames(driver: DriverSpec): string[] {
  return driver.modules.map((m) => m.name);
}

/** The .ko file (relative to the build dir) of a module. */
export function moduleFile(m: DriverModule): string {
  return 'file' in m && m.file ? m.file : `${m.name}.ko`;
}

/** `param=value` words for one module, in a stable order. */
export function moduleParameterWords(driver: DriverSpec, module: string): string[] {
  const params = Object.entries(driver.moduleParameters).find(([m]) => canonicalModuleName(m) === canonicalModuleName(module))?.[1] ?? {};
  return Object.entries(params).map(([k, v]) => `${k}=${String(v)}`);
}

/**
 * Build commands with `${KVER}` substituted, for places with no shell variable KVER
 * (Containerfiles declare `ARG KVER` and use the commands verbatim).
 */
export function buildCommands(driver: DriverSpec, kver: string): string[] {
  return driver.build.commands.map((c) => c.replaceAll('${KVER}', kver));
}
