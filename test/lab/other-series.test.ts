/**
 * A kernel of another series (Debian's 6.12: modules shipped as .ko.xz, virtio built
 * in): the node boots, the driver builds against its kbuild tree and KMM's manifests
 * load it — what a y-stream upgrade needs.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { LabCluster } from '../../src/targets/lab/control-plane/lab-cluster.js';
import { labRelease } from '../../src/targets/lab/release.js';
import { labAvailability, skipReason } from './helpers.js';

const availability = labAvailability();
const other = availability.kernels.find((k) => k.series !== '6.1' && !k.flavour.startsWith('rt'));

describe.skipIf(!availability.ok || !other)(`lab kernel of another series${skipReason(availability)}${other ? '' : ' [SKIPPED: no non-6.1 kernel installed; scripts/lab-packages.sh installs one]'}`, () => {
  it(`boots ${other?.kver ?? 'a 6.12 kernel'}, builds the driver for it and loads it with the KMM manifests`, async () => {
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const events: { kind: string; data: Record<string, unknown> }[] = [];
    const cluster = await LabCluster.create({
      runDir: mkdtempSync(path.join(os.tmpdir(), 'kmodlab-series-')),
      release: { kernel: other! },
      driver,
      emit: (kind, data) => events.push({ kind, data }),
    });
    try {
      expect((await cluster.nodes[0]!.lab.exec('uname -r')).stdout.trim()).toBe(other!.kver);
      const [set] = renderMethods(driver.spec, labRelease(other!), 'kmm', { pool: 'master' });
      await cluster.apply(allObjects(set!, 'day2'));
      expect(events.filter((e) => e.kind === 'build' && e.data.ok).map((e) => e.data.kver)).toEqual([other!.kver]);
      expect(events.filter((e) => e.kind === 'module-state' && e.data.module === 'simple_kmod').at(-1)?.data.loaded).toBe(true);
      expect((await cluster.nodes[0]!.lab.readFile('/proc/simple-procfs-kmod')).trim()).toMatch(/^simple-procfs-kmod reads=\d+$/);
    } finally {
      await cluster.shutdown();
    }
  });
});
