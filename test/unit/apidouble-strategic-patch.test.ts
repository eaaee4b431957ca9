// The API double's strategic merge patch, on the patches kubectl apply writes
// (its three-way patch names each merged list's key in $setElementOrder).

import { describe, expect, it } from 'vitest';
import { strategicMergePatch } from '../../tools/apidouble/patch.ts';

const svc = {
  metadata: { name: 'web', labels: { a: '1', keep: 'x' }, finalizers: ['f1'] },
  spec: {
    type: 'LoadBalancer',
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'https', port: 443, targetPort: 8443 },
    ],
    selector: { app: 'web' },
  },
};

describe('strategicMergePatch', () => {
  it('merges a list by the key $setElementOrder names, changing one element and keeping the other', () => {
    const out = strategicMergePatch(svc, {
      spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 443 }], ports: [{ port: 80, targetPort: 9090 }] },
    }) as typeof svc;
    expect(out.spec.ports).toEqual([
      { name: 'http', port: 80, targetPort: 9090 },
      { name: 'https', port: 443, targetPort: 8443 },
    ]);
  });

  it('deletes an element with $patch: delete, adds a new one, and orders them as $setElementOrder says', () => {
    const out = strategicMergePatch(svc, {
      spec: {
        '$setElementOrder/ports': [{ port: 8443 }, { port: 80 }],
        ports: [
          { $patch: 'delete', port: 443 },
          { name: 'alt', port: 8443, targetPort: 1 },
        ],
      },
    }) as typeof svc;
    expect(out.spec.ports).toEqual([
      { name: 'alt', port: 8443, targetPort: 1 },
      { name: 'http', port: 80, targetPort: 8080 },
    ]);
  });

  it('replaces a list the patch gives no key for, deletes with null, merges maps', () => {
    const out = strategicMergePatch(svc, { metadata: { labels: { a: null, b: '2' } }, spec: { ports: [{ port: 1 }], selector: null } }) as typeof svc;
    expect(out.metadata.labels).toEqual({ keep: 'x', b: '2' });
    expect(out.spec.ports).toEqual([{ port: 1 }]);
    expect('selector' in out.spec).toBe(false);
  });

  it('merges and prunes primitive lists, honours $patch: replace and $retainKeys, and leaves its input alone', () => {
    const before = structuredClone(svc);
    const merged = strategicMergePatch(svc, { metadata: { '$setElementOrder/finalizers': ['f0', 'f1'], finalizers: ['f0'] } }) as typeof svc;
    expect(merged.metadata.finalizers).toEqual(['f0', 'f1']);
    const pruned = strategicMergePatch(svc, { metadata: { '$deleteFromPrimitiveList/finalizers': ['f1'] } }) as typeof svc;
    expect(pruned.metadata.finalizers).toEqual([]);
    const replaced = strategicMergePatch(svc, { spec: { $patch: 'replace', type: 'ClusterIP' } }) as typeof svc;
    expect(replaced.spec).toEqual({ type: 'ClusterIP' });
    const retained = strategicMergePatch(svc, { spec: { $retainKeys: ['type', 'ports'], type: 'NodePort' } }) as typeof svc;
    expect(Object.keys(retained.spec).sort()).toEqual(['ports', 'type']);
    expect(svc).toEqual(before);
  });
});
