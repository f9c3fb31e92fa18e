/**
 * `kmodlab lab up --manifests <dir>`: the lab's counterpart of the installer's `openshift/`
 * manifests directory. On a real install the temporary bootstrap machine creates the
 * objects of `<install-dir>/openshift/*.yaml` in the new cluster before the control-plane
 * and worker machines join (openshift/installer docs/user/overview.md, "Cluster
 * Installation Process"), so MachineConfigs among them are part of the pools' first
 * rendered config, and controllers act on the other objects as the nodes join. A node whose
 * first config has an osImageURL boots the base image and pivots to it once, with one
 * reboot, before the kubelet starts (openshift/machine-config-operator
 * templates/common/_base/units/machine-config-daemon-firstboot.service.yaml →
 * `machine-config-daemon firstboot-complete-machineconfig`); the lab's MCO controller does
 * that reboot when it finds the node off its pool's rendered config.
 *
 * The lab does the same: supervisor.ts creates the objects read here through its API right
 * after the API is ready and before the QEMU nodes are provisioned.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { UserError } from '../../../errors.js';
import { parseYamlStream } from '../../../yaml.js';

export interface InstallManifest {
  file: string;
  object: KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
}

/**
 * The objects of the `*.yaml`/`*.yml` files directly in `dir`, in file-name order (as the
 * installer's `99_…` prefixes intend). Throws a UserError naming the directory or file
 * and what was expected.
 */
export function readInstallManifests(dir: string): InstallManifest[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`--manifests: ${dir} is not a directory`, 'pass the directory holding the installer manifests (e.g. the openshift/ files of `kmodlab render --day1`)');
  }
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && statSync(path.join(dir, f)).isFile())
    .sort();
  if (files.length === 0) throw new UserError(`--manifests: ${dir} holds no .yaml/.yml file`);
  const out: InstallManifest[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    let docs: unknown[];
    try {
      docs = parseYamlStream(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UserError(`--manifests: ${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
    docs.forEach((d, i) => {
      if (d === null || d === undefined) return;
      const o = d as Partial<InstallManifest['object']>;
      if (typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
        throw new UserError(`--manifests: ${file}, document ${i + 1}: expected a Kubernetes object with apiVersion, kind and metadata.name`);
      }
      out.push({ file, object: o as InstallManifest['object'] });
    });
  }
  return out;
}

/**
 * Creates the objects through the API in order, as cluster-bootstrap does: an object the
 * API refuses for now (a namespaced object listed before its Namespace, a kind whose CRD
 * comes later) is tried again in the next round, until a round creates nothing more.
 * An object that exists already is left as it is.
 */
export async function createInstallManifests(kc: KubeConfig, manifests: InstallManifest[], log: (line: string) => void): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  let pending = manifests;
  for (;;) {
    const failed: { m: InstallManifest; error: string }[] = [];
    for (const m of pending) {
      const { file, object } = m;
      const ref = `${object.kind}/${object.metadata.name}${object.metadata.namespace ? ` -n ${object.metadata.namespace}` : ''}`;
      try {
        await api.create(object);
        log(`install manifest ${path.basename(file)}: created ${ref}`);
      } catch (e) {
        if ((e as { code?: number }).code === 409) log(`install manifest ${path.basename(file)}: ${ref} exists already`);
        else failed.push({ m, error: `install manifest ${file}: creating ${ref} failed: ${(e as Error).message.split('\n')[0]}` });
      }
    }
    if (failed.length === 0) return;
    if (failed.length === pending.length) throw new Error(failed.map((f) => f.error).join('; '));
    pending = failed.map((f) => f.m);
  }
}
