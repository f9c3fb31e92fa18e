/**
 * The pure parts of the lab's KMM Module controller: kernel mapping choice, the kernel
 * variables in containerImage, and the modprobe commands of the load and unload workers.
 */
import { describe, expect, it } from 'vitest';
import { loadCommands, mappingFor, substituteKernel, unloadCommand } from '../../src/targets/lab/control-plane/api-controllers/kmm-module.js';

describe('KMM Module controller (pure parts)', () => {
  const mappings = [
    { literal: '6.1.0-57-amd64', containerImage: 'r/lit:${KERNEL_FULL_VERSION}' },
    { regexp: '^6\\.1\\.0-[0-9]+(-rt)?-amd64$', containerImage: 'r/re:${KERNEL_FULL_VERSION}' },
  ];

  it('takes the first mapping that matches: a literal equals, a regexp matches', () => {
    expect(mappingFor(mappings, '6.1.0-57-amd64')?.containerImage).toBe('r/lit:${KERNEL_FULL_VERSION}');
    expect(mappingFor(mappings, '6.1.0-56-rt-amd64')?.containerImage).toBe('r/re:${KERNEL_FULL_VERSION}');
    expect(mappingFor(mappings, '6.12.0-1-amd64')).toBeUndefined();
  });

  it('fills in the kernel variables of containerImage', () => {
    expect(substituteKernel('r/m:1.0-${KERNEL_FULL_VERSION}', '6.1.0-56-amd64')).toBe('r/m:1.0-6.1.0-56-amd64');
    expect(substituteKernel('r/m:${KERNEL_VERSION}', '6.1.0-56-amd64')).toBe('r/m:6.1.0-56-amd64');
    // An image tag cannot hold '+' (Debian's 6.12 kernels): KMM fills in the normalized version.
    expect(substituteKernel('r/m:1.0-${KERNEL_FULL_VERSION}', '6.12.117+deb12-amd64')).toBe('r/m:1.0-6.12.117_deb12-amd64');
  });

  it('loads dependencies first (modulesLoadingOrder lists the module first), with parameters on moduleName only; unloads in the listed order', () => {
    const m = { moduleName: 'a', modulesLoadingOrder: ['a', 'b'], parameters: ['x=1'], dirName: '/opt' };
    expect(loadCommands(m)).toEqual([
      ['modprobe', '-v', '-d', '/opt', 'b'],
      ['modprobe', '-v', '-d', '/opt', 'a', 'x=1'],
    ]);
    expect(unloadCommand(m)).toEqual(['modprobe', '-v', '-r', '-d', '/opt', 'a', 'b']);
    expect(loadCommands({ moduleName: 'solo' })).toEqual([['modprobe', '-v', '-d', '/opt', 'solo']]);
  });
});
