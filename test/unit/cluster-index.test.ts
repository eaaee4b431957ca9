import { describe, expect, it } from 'vitest';
import { endpointSlice, lease, service } from '../../tools/apidouble/index.ts';
import { ClusterIndex } from '../../src/kube/cluster-index.ts';

const withRv = <T extends { metadata?: object }>(o: T, rv: string): T => ({ ...o, metadata: { ...o.metadata, resourceVersion: rv } });
const web = (ip: string, rv: string) => withRv(service({ name: 'web', ingressIPs: [ip] }), rv);
const webSlice = (rv: string) => withRv(endpointSlice({ service: 'web', name: 'web-a', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'n1' }] }), rv);
const kvLease = (rv: string) => withRv(lease({ name: 'plndr-svcs-lock', namespace: 'kube-system', holderIdentity: 'n1' }), rv);

function seeded(): ClusterIndex {
  const index = new ClusterIndex();
  index.upsert('services', web('10.0.0.5', '1'));
  index.upsert('endpointslices', webSlice('2'));
  index.upsert('leases', kvLease('3'));
  return index;
}

describe('ClusterIndex snapshots', () => {
  it('hand out the same snapshot until something changes, also when a relist re-delivers a version already applied', () => {
    const index = seeded();
    const first = index.snapshot();
    expect(index.snapshot()).toBe(first);
    expect(index.upsert('services', web('10.0.0.5', '1'))).toBe(false);
    expect(index.upsert('endpointslices', webSlice('2'))).toBe(false);
    expect(index.snapshot()).toBe(first);
  });

  it('copy only the kinds that changed; the others are shared with the previous snapshot', () => {
    const index = seeded();
    const first = index.snapshot();
    expect(index.upsert('services', web('10.0.0.6', '4'))).toBe(true);
    const second = index.snapshot();
    expect(second).not.toBe(first);
    expect(second.services).not.toBe(first.services);
    expect(second.slicesByService).toBe(first.slicesByService);
    expect(second.leases).toBe(first.leases);

    expect(index.upsert('endpointslices', webSlice('5'))).toBe(true);
    const third = index.snapshot();
    expect(third.services).toBe(second.services);
    expect(third.slicesByService).not.toBe(second.slicesByService);

    expect(index.remove('leases', kvLease('6'))).toBe(true);
    const fourth = index.snapshot();
    expect([fourth.services, fourth.slicesByService]).toEqual([third.services, third.slicesByService]);
    expect(fourth.leases.size).toBe(0);
  });

  it('never change a snapshot already handed out', () => {
    const index = seeded();
    const first = index.snapshot();
    index.upsert('services', web('10.0.0.6', '4'));
    index.remove('endpointslices', webSlice('5'));
    index.upsert('services', withRv(service({ name: 'db', ingressIPs: ['10.0.0.7'] }), '6'));
    expect([...first.services.keys()]).toEqual(['default/web']);
    expect(first.services.get('default/web')!.ingress).toEqual([{ ip: '10.0.0.5' }]);
    expect(first.slicesByService.get('default/web')).toHaveLength(1);
    const now = index.snapshot();
    expect([...now.services.keys()].sort()).toEqual(['default/db', 'default/web']);
    expect(now.slicesByService.has('default/web')).toBe(false);
  });

  it('a deleted object re-created with the version it had is applied again', () => {
    const index = seeded();
    expect(index.remove('services', web('10.0.0.5', '1'))).toBe(true);
    expect(index.upsert('services', web('10.0.0.5', '1'))).toBe(true);
    expect(index.snapshot().services.has('default/web')).toBe(true);
  });
});

describe('ClusterIndex rejects one object alone', () => {
  const broken = (rv: string) => withRv({ ...service({ name: 'bad' }), status: { loadBalancer: { ingress: 5 } } }, rv) as never;

  it('an object whose translation throws is left out and listed; the rest of the view stands', () => {
    const seen: string[] = [];
    const index = new ClusterIndex({ onReject: (r) => seen.push(`${r.kind} ${r.namespace}/${r.name}`) });
    index.upsert('services', web('10.0.0.5', '1'));
    expect(index.upsert('services', broken('2'))).toBe(true);
    const snap = index.snapshot();
    expect([...snap.services.keys()]).toEqual(['default/web']);
    expect(snap.rejected).toEqual([{ kind: 'Service', namespace: 'default', name: 'bad', reason: expect.stringContaining('cannot be translated') }]);
    expect(seen).toEqual(['Service default/bad']);
    // The same version again (a re-list) is not reported twice.
    expect(index.upsert('services', broken('2'))).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('a fixed version, a deletion or a LIST without it clears the rejection', () => {
    const index = new ClusterIndex();
    index.upsert('services', broken('2'));
    index.upsert('services', withRv(service({ name: 'bad', ingressIPs: ['10.0.0.9'] }), '3'));
    expect(index.snapshot().rejected).toBeUndefined();
    expect(index.snapshot().services.has('default/bad')).toBe(true);
    index.upsert('services', broken('4'));
    expect(index.snapshot().services.has('default/bad')).toBe(false);
    index.retainOnly('services', new Set());
    expect(index.snapshot().rejected).toBeUndefined();
    index.upsert('services', broken('5'));
    index.remove('services', broken('5'));
    expect(index.rejected()).toEqual([]);
  });
});

describe('ClusterIndex change journal', () => {
  const keys = (c: ReturnType<ClusterIndex['changesSince']>['changed']) =>
    c === 'all' ? 'all' : { services: [...c.services].sort(), slices: [...c.slices].sort(), leases: [...c.leases].sort() };

  it('says everything on the first read, then exactly the keys changed since the cursor', () => {
    const index = seeded();
    const first = index.changesSince(undefined);
    expect(first.changed).toBe('all');
    expect(keys(index.changesSince(first.cursor).changed)).toEqual({ services: [], slices: [], leases: [] });
    index.upsert('services', web('10.0.0.6', '4'));
    index.upsert('services', web('10.0.0.6', '4')); // a re-delivered version changes nothing
    index.upsert('leases', kvLease('5'));
    const second = index.changesSince(first.cursor);
    expect(keys(second.changed)).toEqual({ services: ['default/web'], slices: [], leases: ['kube-system/plndr-svcs-lock'] });
    index.remove('services', web('10.0.0.6', '4'));
    expect(keys(index.changesSince(second.cursor).changed)).toEqual({ services: ['default/web'], slices: [], leases: [] });
  });

  it('a read drops what its cursor has seen: an older cursor is told everything', () => {
    const index = seeded();
    const first = index.changesSince(undefined);
    index.upsert('services', web('10.0.0.6', '4'));
    const second = index.changesSince(first.cursor);
    index.upsert('leases', kvLease('5'));
    // Read again from the same cursor: nothing it has not seen is dropped.
    expect(keys(index.changesSince(first.cursor).changed)).toEqual({ services: ['default/web'], slices: [], leases: ['kube-system/plndr-svcs-lock'] });
    expect(keys(index.changesSince(second.cursor).changed)).toEqual({ services: [], slices: [], leases: ['kube-system/plndr-svcs-lock'] });
    expect(index.changesSince(first.cursor).changed).toBe('all');
  });

  it('names the Services whose slice group changed, before and after a slice moves to another Service', () => {
    const index = seeded();
    const { cursor } = index.changesSince(undefined);
    const moved = withRv(endpointSlice({ service: 'api', name: 'web-a', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'n1' }] }), '9');
    index.upsert('endpointslices', moved);
    expect(keys(index.changesSince(cursor).changed)).toEqual({ services: [], slices: ['default/api', 'default/web'], leases: [] });
  });

  it('a rejected object and a LIST that no longer has one are changes', () => {
    const index = seeded();
    const { cursor } = index.changesSince(undefined);
    index.retainOnly('leases', new Set());
    expect(keys(index.changesSince(cursor).changed)).toEqual({ services: [], slices: [], leases: ['kube-system/plndr-svcs-lock'] });
  });

  it('live() is the current view without a copy, the same content as snapshot()', () => {
    const index = seeded();
    const live = index.live();
    expect([...live.services.keys()]).toEqual([...index.snapshot().services.keys()]);
    index.upsert('services', withRv(service({ name: 'api', ingressIPs: ['10.0.0.9'] }), '10'));
    expect(live.services.has('default/api')).toBe(true);
  });
});
