/**
 * Which installed kernels play which release in an evaluation: a starting release and
 * a later z-stream of the same series (upgrade), and the realtime flavour of the
 * starting kernel (kernel switch). Choices can be overridden by name.
 */
import { UserError } from '../../../errors.js';
import { findKernel, howToAddKernel, type LabKernel } from './catalog.js';

export interface LabReleaseKernels {
  from: LabKernel;
  upgradeTo?: LabKernel;
  realtime?: LabKernel;
}

/** Compares `6.1.0-54-amd64` < `6.1.0-56-amd64` numerically, part by part. */
export function compareKver(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.localeCompare(b);
}

function isRt(k: LabKernel): boolean {
  return /(^|-)rt(-|$)/.test(k.flavour) || /\+rt$/.test(k.kver);
}

/** The realtime build of the same kernel (6.1.0-54-amd64 → 6.1.0-54-rt-amd64). */
function realtimeOf(k: LabKernel, all: LabKernel[]): LabKernel | undefined {
  const rts = all.filter(isRt);
  return rts.find((r) => r.kver === k.kver.replace(/-([a-z0-9]+)$/, '-rt-$1')) ?? rts.find((r) => r.series === k.series);
}

export function chooseLabKernels(all: LabKernel[], pick: { from?: string; upgradeTo?: string; realtime?: string } = {}): LabReleaseKernels {
  const byName = (kver: string, flag: string) => {
    try {
      return findKernel(kver);
    } catch (e) {
      throw new UserError(`${flag} ${kver}: ${(e as Error).message.split('\n')[0]}`, howToAddKernel());
    }
  };
  const plain = all.filter((k) => !isRt(k)).sort((a, b) => compareKver(a.kver, b.kver));
  if (plain.length === 0 && !pick.from) {
    throw new UserError('no lab kernel is installed (a kernel image with its kbuild tree)', howToAddKernel());
  }
  let from = pick.from ? byName(pick.from, '--kernel') : undefined;
  let upgradeTo = pick.upgradeTo ? byName(pick.upgradeTo, '--upgrade-kernel') : undefined;
  if (!from) {
    // The series with two or more ABIs gives a z-stream pair: start one behind its newest.
    const series = [...new Set(plain.map((k) => `${k.series}/${k.flavour}`))].map((s) => plain.filter((k) => `${k.series}/${k.flavour}` === s));
    const pair = series.filter((ks) => ks.length >= 2).sort((a, b) => compareKver(a.at(-1)!.kver, b.at(-1)!.kver)).at(-1);
    from = pair ? pair.at(-2)! : plain.at(-1)!;
    upgradeTo ??= pair?.at(-1);
  }
  upgradeTo ??= plain.find((k) => k.series === from!.series && k.flavour === from!.flavour && compareKver(k.kver, from!.kver) > 0);
  const realtime = pick.realtime ? byName(pick.realtime, '--rt-kernel') : realtimeOf(from, all);
  // The kernel switch goes to PREEMPT_RT; a default kernel there would switch nothing.
  if (pick.realtime && !isRt(realtime!)) {
    const rts = all.filter(isRt).map((k) => k.kver);
    throw new UserError(`--rt-kernel ${pick.realtime}: not a realtime kernel (flavour ${realtime!.flavour}; expected an -rt- kernel such as ${pick.realtime.replace(/-([a-z0-9_]+)$/, '-rt-$1')})`, rts.length ? `installed realtime kernels: ${rts.join(', ')}` : howToAddKernel());
  }
  return { from, upgradeTo, realtime };
}

/**
 * The roles of a lab that can run every scenario (a start kernel, a z-stream to upgrade
 * to, a realtime kernel), or undefined when one is missing: `lab setup` then has work to do.
 */
export function completeLab(all: LabKernel[]): Required<LabReleaseKernels> | undefined {
  if (!all.some((k) => !isRt(k))) return undefined;
  const roles = chooseLabKernels(all);
  return roles.upgradeTo && roles.realtime ? { from: roles.from, upgradeTo: roles.upgradeTo, realtime: roles.realtime } : undefined;
}
