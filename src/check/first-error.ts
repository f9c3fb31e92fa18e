/**
 * The one line a matrix cell shows for a failure, taken verbatim from the tool that
 * failed: gcc's `error:` line, modprobe's `ERROR:` line, the kernel's complaint.
 */

/** gcc/ld/kbuild error lines, most specific first. */
const BUILD_ERROR_PATTERNS = [/\berror:/, /\bundefined!?$|ERROR: modpost:/, /\*\*\* .*(Error|Stop)/, /\bError \d+\b/];

/** First compiler/kbuild error in a build log; source paths are shown relative to the driver's source. */
export function firstBuildError(log: string): string | undefined {
  const lines = log.split('\n').filter((l) => !l.startsWith('#'));
  for (const re of BUILD_ERROR_PATTERNS) {
    const hit = lines.find((l) => re.test(l));
    if (hit) return stripScratchPath(hit.trim());
  }
  return undefined;
}

/** Builds run in a scratch copy (`…/.build-<key>-XXXX/src/`): show `simple.c:3:1: error: …`. */
function stripScratchPath(line: string): string {
  return line.replace(/\/\S*?\/\.build-[^/\s]+\/src\//g, '');
}

/** Kernel log lines that explain a refused or failed load (vermagic, symbols, signatures, init). */
const KERNEL_COMPLAINT = /disagrees about version|Unknown symbol|section size must match|version magic|rejected|module verification failed: .*rejected|init.*returned|failed|error/i;

/** First error line of a load: modprobe's own message, else the kernel's. */
export function firstLoadError(output: string, kernelLog: readonly string[]): string | undefined {
  const tool = output.split('\n').find((l) => /\b(ERROR|FATAL)\b|could not insert|not found/.test(l));
  if (tool) return tool.trim();
  const kernel = kernelLog.find((l) => KERNEL_COMPLAINT.test(l));
  return kernel?.trim() ?? output.trim().split('\n').find(Boolean);
}

/** Kernel log lines that appeared since `before` was read (robust to a ring buffer that dropped old lines). */
export function newLogLines(before: string, after: string): string[] {
  const b = before.split('\n').filter(Boolean);
  const a = after.split('\n').filter(Boolean);
  if (b.length === 0) return a;
  const last = b[b.length - 1]!;
  const idx = a.lastIndexOf(last);
  return idx >= 0 ? a.slice(idx + 1) : a;
}
