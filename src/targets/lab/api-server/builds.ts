/**
 * The BuildConfig subresources OpenShift's API serves (openshift/openshift-apiserver
 * pkg/build/apiserver/registry/buildconfig: `instantiate` takes a BuildRequest,
 * `instantiatebinary` takes the source archive as the request body — what
 * `oc start-build --from-dir` sends, a tar stream — with BinaryBuildRequestOptions in the
 * query). Both make the next Build of the config as the build generator does
 * (pkg/build/apiserver/buildgenerator): number lastVersion+1, name `<bc>-<n>`, labels and
 * annotations naming the config, the config's source/strategy/output, phase New. The
 * archive is kept where the lab's build controller reads it (binaryArchivePath), since
 * the lab has no build pod to stream it into.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import type { ObjectService } from './objects.js';
import type { ResourceRegistry } from './resources.js';
import { ApiError, badRequest, type Obj } from './status.js';
import { labStateDir } from './tls.js';

/** Largest source archive accepted (the lab keeps it on disk). */
const MAX_ARCHIVE = 1024 * 1024 * 1024;

/** Where the archive of a binary Build is kept until the lab's build controller builds it. */
export function binaryArchivePath(namespace: string, build: string): string {
  return path.join(labStateDir(), 'binary-builds', namespace, `${build}.tar`);
}

async function saveBody(req: IncomingMessage, file: string): Promise<number> {
  mkdirSync(path.dirname(file), { recursive: true });
  let size = 0;
  const tmp = `${file}.part`;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_ARCHIVE) req.destroy(new Error('archive too large'));
  });
  try {
    await pipeline(req, createWriteStream(tmp));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw size > MAX_ARCHIVE ? new ApiError(413, 'RequestEntityTooLarge', `the source archive is larger than ${MAX_ARCHIVE} bytes`) : e;
  }
  renameSync(tmp, file);
  return size;
}

/**
 * POST buildconfigs/<name>/instantiate or /instantiatebinary: the new Build (201).
 * `userAgent` names who asked (the Build's triggeredBy message says how).
 */
export async function instantiate(
  objects: ObjectService,
  registry: ResourceRegistry,
  ns: string,
  name: string,
  kind: 'instantiate' | 'instantiatebinary',
  req: IncomingMessage,
  query: URLSearchParams,
  readJson: () => Promise<Obj>,
): Promise<Obj> {
  const bcType = registry.find('build.openshift.io', 'v1', 'buildconfigs')!;
  const buildType = registry.find('build.openshift.io', 'v1', 'builds');
  if (!buildType) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const bc = objects.get(bcType, ns, name);
  const binary = bc.spec?.source?.type === 'Binary' || bc.spec?.source?.binary !== undefined;
  let request: Obj = {};
  if (kind === 'instantiatebinary') {
    // buildconfig/instantiate/rest.go: binary input only for a config with a Binary source.
    if (!binary) throw badRequest(`cannot upload file to build config ${name} with a non-binary source`);
  } else {
    request = await readJson();
    if (binary) throw badRequest(`build config ${ns}/${name} has a Binary source: start it with the source (oc start-build --from-dir, kmodlab lab start-build)`);
  }
  const n = Number(bc.status?.lastVersion ?? 0) + 1;
  const buildName = `${name}-${n}`;
  if (kind === 'instantiatebinary') await saveBody(req, binaryArchivePath(ns, buildName));
  const opts = { dryRun: false, fieldValidation: 'Ignore' as const, fieldManager: 'openshift-apiserver' };
  objects.update(bcType, ns, name, { ...bc, status: { ...(bc.status ?? {}), lastVersion: n } }, opts, 'status', 'openshift-apiserver');
  const asFile = query.get('asFile');
  const triggeredBy = request.triggeredBy ?? [{ message: kind === 'instantiatebinary' ? 'Binary build' : 'Manually triggered' }];
  const build: Obj = {
    apiVersion: 'build.openshift.io/v1',
    kind: 'Build',
    metadata: {
      name: buildName,
      namespace: ns,
      labels: { ...(bc.metadata.labels ?? {}), buildconfig: name, 'openshift.io/build-config.name': name, 'openshift.io/build.start-policy': bc.spec?.runPolicy ?? 'Serial' },
      annotations: { 'openshift.io/build-config.name': name, 'openshift.io/build.number': String(n) },
      ownerReferences: [{ apiVersion: 'build.openshift.io/v1', kind: 'BuildConfig', name, uid: bc.metadata.uid, controller: true }],
    },
    spec: {
      serviceAccount: bc.spec?.serviceAccount ?? 'builder',
      source: { ...(bc.spec?.source ?? {}), ...(kind === 'instantiatebinary' ? { binary: { ...(bc.spec?.source?.binary ?? {}), ...(asFile ? { asFile } : {}) } } : {}) },
      strategy: bc.spec?.strategy ?? {},
      output: bc.spec?.output ?? {},
      triggeredBy,
    },
    status: { phase: 'New', config: { kind: 'BuildConfig', namespace: ns, name } },
  };
  return objects.create(buildType, ns, build, opts, 'openshift-apiserver').object;
}
