/**
 * The lab API's pure parts, as tables: patches (JSON merge, JSON patch, strategic merge
 * with its directives), selectors, field ownership for server-side apply, and the
 * store's resourceVersion history (410 once compacted).
 */
import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../src/targets/lab/api-server/patch.js';
import { parseFieldSelector, parseLabelSelector } from '../../src/targets/lab/api-server/selectors.js';
import { fieldsOf, fromFieldsV1, serverSideApply, toFieldsV1 } from '../../src/targets/lab/api-server/managed-fields.js';
import { Store } from '../../src/targets/lab/api-server/store.js';
import { ApiError } from '../../src/targets/lab/api-server/status.js';

const pod = (containers: object[]) => ({ spec: { containers } });

describe('strategic merge patch', () => {
  it.each([
    ['merges lists with a merge key by that key', pod([{ name: 'a', image: '1' }, { name: 'b', image: '1' }]), { spec: { containers: [{ name: 'b', image: '2' }] } }, pod([{ name: 'a', image: '1' }, { name: 'b', image: '2' }])],
    ['deletes a keyed item with $patch: delete', pod([{ name: 'a' }, { name: 'b' }]), { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }, pod([{ name: 'b' }])],
    ['replaces atomic lists', { spec: { tolerations: [{ key: 'x' }] } }, { spec: { tolerations: [{ key: 'y' }] } }, { spec: { tolerations: [{ key: 'y' }] } }],
    ['deletes fields set to null', { data: { a: '1', b: '2' } }, { data: { a: null } }, { data: { b: '2' } }],
    ['merges finalizers as a set', { metadata: { finalizers: ['a'] } }, { metadata: { finalizers: ['b', 'a'] } }, { metadata: { finalizers: ['a', 'b'] } }],
    ['removes from primitive lists', { metadata: { finalizers: ['a', 'b'] } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, { metadata: { finalizers: ['b'] } }],
    ['orders by $setElementOrder', pod([{ name: 'a' }, { name: 'b' }]), { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } }, pod([{ name: 'b' }, { name: 'a' }])],
    ['replaces a map with $patch: replace', { spec: { selector: { a: '1' } } }, { spec: { selector: { b: '2', $patch: 'replace' } } }, { spec: { selector: { b: '2' } } }],
    ['keys container ports by containerPort', pod([{ name: 'a', ports: [{ containerPort: 80, name: 'x' }] }]), { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80, name: 'y' }] }] } }, pod([{ name: 'a', ports: [{ containerPort: 80, name: 'y' }] }])],
  ])('%s', (_what, target, patch, want) => {
    expect(strategicMergePatch(target, patch)).toEqual(want);
  });
});

describe('JSON merge and JSON patch', () => {
  it('merge patch replaces lists and deletes nulls (RFC 7386)', () => {
    expect(mergePatch({ a: [1, 2], b: { c: 1, d: 2 } }, { a: [3], b: { c: null } })).toEqual({ a: [3], b: { d: 2 } });
  });
  it('json patch: add, replace, remove, test (RFC 6902)', () => {
    expect(jsonPatch({ a: { b: [1] } }, [{ op: 'add', path: '/a/b/-', value: 2 }, { op: 'add', path: '/a/c', value: 'w' }, { op: 'replace', path: '/a/c', value: 'x' }, { op: 'test', path: '/a/b/0', value: 1 }])).toEqual({ a: { b: [1, 2], c: 'x' } });
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(ApiError);
    expect(() => jsonPatch({}, [{ op: 'remove', path: '/missing' }])).toThrow(/does not exist/);
    expect(() => jsonPatch({}, [{ op: 'replace', path: '/missing', value: 1 }])).toThrow(/does not exist/);
  });
});

describe('selectors', () => {
  const o = { metadata: { name: 'n', namespace: 'ns', labels: { app: 'x', tier: 'web' } }, spec: { nodeName: 'worker-0' } };
  it.each([
    ['app=x', true],
    ['app==x,tier=web', true],
    ['app!=x', false],
    ['tier in (web, db)', true],
    ['tier notin (web)', false],
    ['app', true],
    ['!app', false],
    ['missing!=y', true],
  ])('label selector %s → %s', (sel, want) => expect(parseLabelSelector(sel)(o)).toBe(want));
  it.each([
    ['metadata.name=n', true],
    ['spec.nodeName=worker-0', true],
    ['spec.nodeName!=worker-0', false],
    ['metadata.name=n,metadata.namespace=other', false],
  ])('field selector %s → %s', (sel, want) => expect(parseFieldSelector(sel)(o)).toBe(want));
  it('refuses what it cannot parse', () => {
    expect(() => parseLabelSelector('a in b')).toThrow(ApiError);
    expect(() => parseFieldSelector('nonsense')).toThrow(ApiError);
  });
});

describe('field ownership (server-side apply)', () => {
  const ctx = (manager: string) => ({ manager, apiVersion: 'v1', builtin: true, withStatus: false });
  it('encodes keyed list items and their fields as FieldsV1, and reads them back', () => {
    const set = fieldsOf({ metadata: { name: 'x', labels: { a: '1' } }, spec: { containers: [{ name: 'c', image: 'i' }] } }, true, false);
    const v1 = toFieldsV1(set);
    expect(v1).toEqual({ 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } });
    expect(fromFieldsV1(v1)).toEqual(set);
  });
  it('shares a field when two managers apply the same value; conflicts on a different one; force takes it', () => {
    const first = serverSideApply(undefined, { data: { a: '1' } }, ctx('one'), false);
    const live = { ...first.object, metadata: { managedFields: first.managedFields } };
    const shared = serverSideApply(live, { data: { a: '1' } }, ctx('two'), false);
    expect(shared.managedFields.map((m) => m.manager)).toEqual(['one', 'two']);
    expect(() => serverSideApply(live, { data: { a: '2' } }, ctx('two'), false)).toThrow(/conflict with "one" using v1: \.data\.a/);
    const forced = serverSideApply(live, { data: { a: '2' } }, ctx('two'), true);
    expect(forced.object.data).toEqual({ a: '2' });
    expect(forced.managedFields.map((m) => m.manager)).toEqual(['two']);
  });
  it('removes what a manager stops applying unless someone else owns it', () => {
    const first = serverSideApply(undefined, { data: { a: '1', b: '2' } }, ctx('one'), false);
    const live = { ...first.object, metadata: { managedFields: first.managedFields } };
    expect(serverSideApply(live, { data: { a: '1' } }, ctx('one'), false).object.data).toEqual({ a: '1' });
    const co = serverSideApply(live, { data: { b: '2' } }, ctx('two'), false);
    const live2 = { ...co.object, metadata: { managedFields: co.managedFields } };
    expect(serverSideApply(live2, { data: { a: '1' } }, ctx('one'), false).object.data).toEqual({ a: '1', b: '2' });
  });
});

describe('store', () => {
  it('replays events after a resourceVersion, and answers 410 once they are compacted', () => {
    const s = new Store({ historyLimit: 2 });
    const obj = (name: string) => ({ metadata: { name } });
    const rv0 = Number(s.commit('cm', 'ADDED', obj('a')).metadata.resourceVersion);
    s.commit('cm', 'ADDED', obj('b'));
    const seen: string[] = [];
    s.watch('cm', rv0, (e) => seen.push(`${e.type} ${e.object.metadata.name}`))();
    expect(seen).toEqual(['ADDED b']);
    s.commit('cm', 'ADDED', obj('c'));
    s.commit('cm', 'DELETED', obj('a'));
    expect(() => s.watch('cm', rv0, () => undefined)).toThrow(/too old resource version/);
    expect(s.list('cm').items.map((o) => o.metadata.name)).toEqual(['b', 'c']);
  });
  it('fans one event out to every watcher of the type, and to no other type', () => {
    const s = new Store();
    const a: string[] = [];
    const b: string[] = [];
    const other: string[] = [];
    s.watch('cm', undefined, (e) => a.push(e.object.metadata.name));
    s.watch('cm', undefined, (e) => b.push(e.object.metadata.name));
    s.watch('pods', undefined, (e) => other.push(e.object.metadata.name));
    s.commit('cm', 'ADDED', { metadata: { name: 'x' } });
    expect([a, b, other]).toEqual([['x'], ['x'], []]);
    expect(s.watcherCount('cm')).toBe(2);
  });
});
