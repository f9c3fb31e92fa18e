/**
 * Image content from the host's Debian packages: Depends parsing, the closure
 * (alternatives, virtual packages, missing roots named), and — on a Debian host — the
 * file list in merged-/usr form with the alternatives links tools rely on.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { installedPackages, packageClosure, packageFiles, parseDepends, type InstalledPackage } from '../../src/targets/lab/images/debian-packages.js';

describe('Depends and the package closure', () => {
  it.each([
    ['libc6 (>= 2.34), libgcc-s1', [['libc6'], ['libgcc-s1']]],
    ['gcc-12 (>= 12.2.0-1~) | clang, cpp:any', [['gcc-12', 'clang'], ['cpp']]],
    [', ', []],
  ])('%s', (field, expected) => {
    expect(parseDepends(field)).toEqual(expected);
  });

  const pkg = (name: string, depends: string[][] = [], provides: string[] = []): [string, InstalledPackage] => [name, { name, version: '1', depends, provides }];
  const installed = new Map([
    pkg('gcc', [['gcc-12']]),
    pkg('gcc-12', [['libc6'], ['binutils-not-installed', 'binutils']]),
    pkg('binutils', [['libc6']]),
    pkg('libc6', [['awk']]),
    pkg('mawk', [], ['awk']),
    pkg('unrelated'),
  ]);

  it('follows the first installed alternative and virtual packages to a provider, and nothing else', () => {
    expect(packageClosure(['gcc'], installed).map((p) => p.name)).toEqual(['binutils', 'gcc', 'gcc-12', 'libc6', 'mawk']);
  });

  it('does not enter excluded packages', () => {
    expect(packageClosure(['gcc'], installed, (n) => n === 'libc6').map((p) => p.name)).toEqual(['binutils', 'gcc', 'gcc-12']);
  });

  it('names the roots that are not installed', () => {
    expect(() => packageClosure(['gcc', 'clang', 'make'], installed)).toThrow('packages not installed on this host: clang, make');
  });
});

const debian = existsSync('/var/lib/dpkg/status');

describe.skipIf(!debian)(`files of installed packages${debian ? '' : ' [SKIPPED: not a Debian host]'}`, () => {
  it('lists mawk with the /usr/bin/awk alternatives link, canonical paths only, no documentation', async () => {
    const all = await installedPackages();
    const files = await packageFiles(packageClosure(['mawk'], all));
    expect(files).toContain('/usr/bin/mawk');
    if (existsSync('/etc/alternatives/awk')) expect(files).toEqual(expect.arrayContaining(['/usr/bin/awk', '/etc/alternatives/awk']));
    // libc's /lib/x86_64-linux-gnu/… comes out as /usr/lib/… (merged /usr)
    expect(files.some((f) => /^\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6$/.test(f))).toBe(true);
    expect(files.filter((f) => /^\/(lib|lib64|bin|sbin)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('/usr/share/doc/'))).toEqual([]);
  });
});
