// Table-driven tests of the pure translators. Fixtures are objects as the
// apiserver sends them (raw JSON, as informers deliver watch events) and the
// same objects in client-node's model shape (Date timestamps, as informers
// deliver the initial LIST): both must translate identically.

import type { V1ConfigMap, V1EndpointSlice, V1Endpoints, V1Lease, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  keyOfObject,
  RejectedObjectError,
  toConfigMapInfo,
  toEndpointSliceInfo,
  toEndpointsInfo,
  toEpochMs,
  toLeaseInfo,
  toNodeInfo,
  toPodInfo,
  toServiceInfo,
} from '../../src/kube/translate.ts';

// A kube-vip LoadBalancer Service as `kubectl get -o json` shows it on a v1.33 cluster.
const rawService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    annotations: { 'kube-vip.io/loadbalancerIPs': '192.168.10.50', 'kube-vip.io/vipHost': 'worker-1' },
    creationTimestamp: '2026-11-20T08:14:03Z',
    labels: { app: 'web' },
    name: 'web',
    namespace: 'prod',
    resourceVersion: '123456',
    uid: '5a7c0d0e-8d1f-4c1e-9f0a-1b2c3d4e5f60',
  },
  spec: {
    allocateLoadBalancerNodePorts: true,
    clusterIP: '10.96.12.34',
    clusterIPs: ['10.96.12.34'],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 31234,
    internalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    loadBalancerClass: 'kube-vip.io/kube-vip-class',
    loadBalancerIP: '192.168.10.50',
    ports: [{ name: 'http', nodePort: 30080, port: 80, protocol: 'TCP', targetPort: 8080 }],
    selector: { app: 'web' },
    sessionAffinity: 'None',
    type: 'LoadBalancer',
  },
  status: { loadBalancer: { ingress: [{ ip: '192.168.10.50', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }] } },
};

const rawSlice = {
  addressType: 'IPv4',
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: 'web-x7k2p',
    namespace: 'prod',
    resourceVersion: '123460',
    labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': 'web' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: '5a7c0d0e-8d1f-4c1e-9f0a-1b2c3d4e5f60' }],
  },
  endpoints: [
    {
      addresses: ['10.244.1.7'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'worker-1',
      targetRef: { kind: 'Pod', name: 'web-7d9f-abcde', namespace: 'prod' },
      zone: 'a',
    },
    { addresses: ['10.244.2.9'], conditions: { ready: false, serving: true, terminating: true }, nodeName: 'worker-2' },
    { addresses: ['10.244.3.1'], conditions: {}, hostname: 'worker-3' },
  ],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
};

// A per-service election lease held by kube-vip (MicroTime has microseconds).
const rawLease = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'kubevip-web', namespace: 'prod', resourceVersion: '123470', creationTimestamp: '2026-11-20T08:14:05Z' },
  spec: {
    acquireTime: '2026-11-26T11:59:00.000000Z',
    holderIdentity: 'worker-1',
    leaseDurationSeconds: 15,
    leaseTransitions: 3,
    renewTime: '2026-11-26T12:00:00.123456Z',
  },
};

/** client-node's model shape for the LIST path: timestamps deserialised to Date. */
function asModel<T>(raw: unknown, dateFields: readonly string[][]): T {
  const copy = structuredClone(raw) as Record<string, unknown>;
  for (const path of dateFields) {
    let cur = copy as Record<string, unknown>;
    for (const p of path.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
    const last = path[path.length - 1] ?? '';
    if (typeof cur[last] === 'string') cur[last] = new Date(cur[last]);
  }
  return copy as T;
}

const svc = (patch: (s: typeof rawService) => void): V1Service => {
  const s = structuredClone(rawService);
  patch(s);
  return s as unknown as V1Service;
};

describe('toServiceInfo', () => {
  const expectedWeb = {
    namespace: 'prod',
    name: 'web',
    type: 'LoadBalancer',
    // Only kube-vip's annotations are kept; loadbalancerIPs parsed once, here.
    annotations: { 'kube-vip.io/vipHost': 'worker-1' },
    loadbalancerIPs: { ips: ['192.168.10.50'], hostnames: [] },
    loadBalancerClass: 'kube-vip.io/kube-vip-class',
    loadBalancerIP: '192.168.10.50',
    ingress: [{ ip: '192.168.10.50' }],
    externalTrafficPolicy: 'Local',
    ipFamilies: ['IPv4'],
  };

  const cases: { name: string; input: V1Service; expected: unknown }[] = [
    { name: 'raw watch object => every field the core reads', input: rawService as unknown as V1Service, expected: expectedWeb },
    {
      name: 'model object from a LIST (Date timestamps) => the same info',
      input: asModel<V1Service>(rawService, [['metadata', 'creationTimestamp']]),
      expected: expectedWeb,
    },
    {
      name: 'externalTrafficPolicy Cluster => Cluster',
      input: svc((s) => (s.spec.externalTrafficPolicy = 'Cluster')),
      expected: expect.objectContaining({ externalTrafficPolicy: 'Cluster' }),
    },
    {
      name: 'externalTrafficPolicy missing => Cluster',
      input: svc((s) => delete (s.spec as Partial<typeof s.spec>).externalTrafficPolicy),
      expected: expect.objectContaining({ externalTrafficPolicy: 'Cluster' }),
    },
    {
      name: 'externalTrafficPolicy in another case ("local") => Cluster, as kube-vip compares exactly',
      input: svc((s) => (s.spec.externalTrafficPolicy = 'local')),
      expected: expect.objectContaining({ externalTrafficPolicy: 'Cluster' }),
    },
    {
      name: 'no type => ClusterIP, the API default',
      input: svc((s) => delete (s.spec as Partial<typeof s.spec>).type),
      expected: expect.objectContaining({ type: 'ClusterIP' }),
    },
    {
      name: 'empty loadBalancerIP and class => left out',
      input: svc((s) => {
        s.spec.loadBalancerIP = '';
        s.spec.loadBalancerClass = '';
      }),
      expected: expect.not.objectContaining({ loadBalancerIP: expect.anything(), loadBalancerClass: expect.anything() }),
    },
    {
      name: 'hostname and empty ingress entries => hostname kept, empty dropped',
      input: svc((s) => {
        s.status.loadBalancer.ingress = [{ hostname: 'lb.example.com' }, {}, { ip: '', hostname: '' }] as unknown as typeof s.status.loadBalancer.ingress;
      }),
      expected: expect.objectContaining({ ingress: [{ hostname: 'lb.example.com' }] }),
    },
    {
      name: 'no status, annotations or ipFamilies => empty collections',
      input: { metadata: { name: 'bare', namespace: 'default' }, spec: { type: 'LoadBalancer' } } as V1Service,
      expected: {
        namespace: 'default',
        name: 'bare',
        type: 'LoadBalancer',
        annotations: {},
        ingress: [],
        externalTrafficPolicy: 'Cluster',
        ipFamilies: [],
      },
    },
    { name: 'no name => not translatable', input: { metadata: { namespace: 'x' } } as V1Service, expected: undefined },
  ];

  it.each(cases)('$name', ({ input, expected }) => {
    expect(toServiceInfo(input)).toEqual(expected);
  });

  it('other annotations (kubectl last-applied-configuration) are not kept', () => {
    const info = toServiceInfo(
      svc(
        (s) =>
          ((s.metadata as { annotations: Record<string, string> }).annotations = {
            'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(100_000),
            'kube-vip.io/ignore': 'true',
          }),
      ),
    );
    expect(info?.annotations).toEqual({ 'kube-vip.io/ignore': 'true' });
  });

  it.each([
    {
      name: 'loadbalancerIPs longer than 16 KiB => rejected, with the length',
      value: '10.0.0.1,'.repeat(2_000),
      error: /is 18000 characters long, more than 16384/,
    },
    {
      name: 'loadbalancerIPs listing 300 addresses => rejected, with the count',
      value: Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(','),
      error: /lists 300 addresses, more than 256/,
    },
  ])('$name', ({ value, error }) => {
    expect(() =>
      toServiceInfo(svc((s) => ((s.metadata as { annotations: Record<string, string> }).annotations = { 'kube-vip.io/loadbalancerIPs': value }))),
    ).toThrow(RejectedObjectError);
    expect(() =>
      toServiceInfo(svc((s) => ((s.metadata as { annotations: Record<string, string> }).annotations = { 'kube-vip.io/loadbalancerIPs': value }))),
    ).toThrow(error);
  });
});

describe('toEndpointSliceInfo', () => {
  const expectedSlice = {
    namespace: 'prod',
    name: 'web-x7k2p',
    serviceName: 'web',
    addressType: 'IPv4',
    endpoints: [
      { addressCount: 1, nodeName: 'worker-1', conditions: { ready: true, serving: true, terminating: false } },
      { addressCount: 1, nodeName: 'worker-2', conditions: { ready: false, serving: true, terminating: true } },
      { addressCount: 1, hostname: 'worker-3', conditions: {} },
    ],
  };
  const withLabels = (labels: Record<string, string>): V1EndpointSlice =>
    ({ ...rawSlice, metadata: { ...rawSlice.metadata, labels } }) as unknown as V1EndpointSlice;

  const cases: { name: string; input: V1EndpointSlice; expected: unknown }[] = [
    { name: 'raw slice => endpoints with nodeName, hostname and conditions as given', input: rawSlice as unknown as V1EndpointSlice, expected: expectedSlice },
    {
      name: 'null conditions => kept as null (kube-vip treats nil serving as false)',
      input: { ...rawSlice, endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: null, serving: null } }] } as unknown as V1EndpointSlice,
      expected: expect.objectContaining({ endpoints: [{ addressCount: 1, conditions: { ready: null, serving: null } }] }),
    },
    {
      name: 'endpoint without conditions => empty conditions',
      input: { ...rawSlice, endpoints: [{ addresses: ['10.0.0.1'] }] } as unknown as V1EndpointSlice,
      expected: expect.objectContaining({ endpoints: [{ addressCount: 1, conditions: {} }] }),
    },
    {
      name: 'an endpoint counts its addresses, not the entries that are not strings; none or no list => 0',
      input: { ...rawSlice, endpoints: [{ addresses: ['10.0.0.1', '10.0.0.2', 7] }, { addresses: [] }, {}] } as unknown as V1EndpointSlice,
      expected: expect.objectContaining({
        endpoints: [
          { addressCount: 2, conditions: {} },
          { addressCount: 0, conditions: {} },
          { addressCount: 0, conditions: {} },
        ],
      }),
    },
    {
      name: 'IPv6 slice => addressType IPv6',
      input: { ...rawSlice, addressType: 'IPv6', endpoints: [] } as unknown as V1EndpointSlice,
      expected: expect.objectContaining({ addressType: 'IPv6', endpoints: [] }),
    },
    {
      name: 'no endpoints field (a Service scaled to zero) => no endpoints',
      input: { ...rawSlice, endpoints: undefined } as unknown as V1EndpointSlice,
      expected: expect.objectContaining({ endpoints: [] }),
    },
    { name: 'no service-name label => belongs to no Service', input: withLabels({ app: 'x' }), expected: undefined },
    { name: 'empty service-name label => belongs to no Service', input: withLabels({ 'kubernetes.io/service-name': '' }), expected: undefined },
    {
      name: 'unknown addressType => not translatable',
      input: { ...rawSlice, addressType: 'IPv5' } as unknown as V1EndpointSlice,
      expected: undefined,
    },
  ];

  it.each(cases)('$name', ({ input, expected }) => {
    expect(toEndpointSliceInfo(input)).toEqual(expected);
  });
});

describe('toLeaseInfo', () => {
  const renew = Date.parse('2026-11-26T12:00:00.123Z');
  const acquire = Date.parse('2026-11-26T11:59:00Z');
  const expectedLease = {
    namespace: 'prod',
    name: 'kubevip-web',
    holderIdentity: 'worker-1',
    renewTime: renew,
    acquireTime: acquire,
    leaseDurationSeconds: 15,
  };
  const cases: { name: string; input: V1Lease; expected: unknown }[] = [
    { name: 'raw lease (MicroTime strings) => epoch ms', input: rawLease as unknown as V1Lease, expected: expectedLease },
    {
      name: 'model lease from a LIST (Date times) => the same epoch ms',
      input: asModel<V1Lease>(rawLease, [
        ['spec', 'renewTime'],
        ['spec', 'acquireTime'],
        ['metadata', 'creationTimestamp'],
      ]),
      expected: expectedLease,
    },
    {
      name: 'released lease (holderIdentity "") => holder kept as ""',
      input: { metadata: { name: 'kubevip-web', namespace: 'prod' }, spec: { holderIdentity: '', leaseDurationSeconds: 1 } } as V1Lease,
      expected: { namespace: 'prod', name: 'kubevip-web', holderIdentity: '', leaseDurationSeconds: 1 },
    },
    {
      name: 'unparseable renewTime => left out, never NaN',
      input: { metadata: { name: 'l', namespace: 'n' }, spec: { renewTime: 'yesterday' as unknown as Date } } as V1Lease,
      expected: { namespace: 'n', name: 'l' },
    },
    { name: 'no spec => name only', input: { metadata: { name: 'l', namespace: 'n' } } as V1Lease, expected: { namespace: 'n', name: 'l' } },
    { name: 'no name => not translatable', input: { spec: {} } as V1Lease, expected: undefined },
  ];

  it.each(cases)('$name', ({ input, expected }) => {
    expect(toLeaseInfo(input)).toEqual(expected);
  });
});

describe('toEndpointsInfo', () => {
  it("keeps only the ready subsets[].addresses, with kube-vip's family test, nodeName and hostname (providers/endpoints.go)", () => {
    const e: V1Endpoints = {
      metadata: { name: 'web', namespace: 'default' },
      subsets: [
        {
          addresses: [
            { ip: '10.244.1.5', nodeName: 'worker-1' },
            { ip: 'fd00:244::5', hostname: 'worker-1' },
          ],
          notReadyAddresses: [{ ip: '10.244.1.6', nodeName: 'worker-1' }],
        },
        { addresses: [{ ip: '10.244.2.5/32' }, { ip: 'not-an-ip' }] },
      ],
    };
    expect(toEndpointsInfo(e)).toEqual({
      namespace: 'default',
      name: 'web',
      addresses: [{ family: 'ipv4', nodeName: 'worker-1' }, { family: 'ipv6', hostname: 'worker-1' }, { family: 'ipv4' }, { family: 'ipv6' }],
    });
  });
  it('no subsets: no address; no name: skipped', () => {
    expect(toEndpointsInfo({ metadata: { name: 'web', namespace: 'default' } })?.addresses).toEqual([]);
    expect(toEndpointsInfo({ metadata: {} })).toBeUndefined();
  });
});

describe('toNodeInfo', () => {
  it("keeps the InternalIPs in order, nothing else (kube-vip's getNodeIPs)", () => {
    const node: V1Node = {
      metadata: { name: 'worker-1' },
      status: {
        addresses: [
          { type: 'Hostname', address: 'worker-1' },
          { type: 'InternalIP', address: '192.168.10.11' },
          { type: 'ExternalIP', address: '203.0.113.7' },
          { type: 'InternalIP', address: 'fd00::11' },
          { type: 'InternalIP', address: '' },
        ],
      },
    };
    expect(toNodeInfo(node)).toEqual({ name: 'worker-1', internalIPs: ['192.168.10.11', 'fd00::11'] });
  });
  it('a Node without status has no InternalIP; one without a name is skipped', () => {
    expect(toNodeInfo({ metadata: { name: 'worker-1' } })).toEqual({ name: 'worker-1', internalIPs: [] });
    expect(toNodeInfo({ metadata: {} })).toBeUndefined();
  });
});

describe("kube-vip's config file: pod volumes and the ConfigMap", () => {
  it('keeps volumeMounts and the volumes that can hold it: configMap (items), projected configMap sources, hostPath, other kinds by name', () => {
    const pod: V1Pod = {
      metadata: { name: 'kube-vip-x', namespace: 'kube-system' },
      spec: {
        containers: [
          {
            name: 'kube-vip',
            volumeMounts: [
              { name: 'cfg', mountPath: '/etc/kube-vip' },
              { name: 'one', mountPath: '/etc/one.yaml', subPath: 'one.yaml' },
            ],
          },
        ],
        volumes: [
          { name: 'cfg', configMap: { name: 'kv', items: [{ key: 'k', path: 'config.yaml' }] } },
          { name: 'proj', projected: { sources: [{ secret: { name: 's' } }, { configMap: { name: 'kv2' } }] } },
          { name: 'host', hostPath: { path: '/etc/kube-vip', type: 'Directory' } },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    };
    const info = toPodInfo(pod)!;
    expect(info.containers[0]!.volumeMounts).toEqual([
      { name: 'cfg', mountPath: '/etc/kube-vip' },
      { name: 'one', mountPath: '/etc/one.yaml', subPath: 'one.yaml' },
    ]);
    expect(info.volumes).toEqual([
      { name: 'cfg', source: { kind: 'configMap', name: 'kv', items: [{ key: 'k', path: 'config.yaml' }] } },
      {
        name: 'proj',
        source: {
          kind: 'projected',
          sources: [
            { kind: 'other', type: 'secret' },
            { kind: 'configMap', name: 'kv2' },
          ],
        },
      },
      { name: 'host', source: { kind: 'hostPath', path: '/etc/kube-vip' } },
      { name: 'tmp', source: { kind: 'other', type: 'emptyDir' } },
    ]);
  });
  it('a ConfigMap: its string data and the time it was last written (the latest managedFields entry)', () => {
    const cm: V1ConfigMap = {
      metadata: {
        name: 'kv',
        namespace: 'kube-system',
        managedFields: [
          { manager: 'kubectl', operation: 'Update', time: new Date('2026-12-01T10:00:00Z') },
          { manager: 'helm', operation: 'Apply', time: '2026-12-02T10:00:00Z' as unknown as Date },
        ],
      },
      data: { 'config.yaml': 'interface: eth0\n' },
      binaryData: { blob: 'AAE=' },
    };
    expect(toConfigMapInfo(cm)).toEqual({
      namespace: 'kube-system',
      name: 'kv',
      data: { 'config.yaml': 'interface: eth0\n' },
      changedAt: Date.parse('2026-12-02T10:00:00Z'),
    });
    expect(toConfigMapInfo({ metadata: {} })).toBeUndefined();
  });
});

describe('toEpochMs', () => {
  const cases: { name: string; input: unknown; expected: number | undefined }[] = [
    { name: 'RFC 3339 seconds', input: '2026-11-26T12:00:00Z', expected: Date.UTC(2026, 10, 26, 12) },
    { name: 'MicroTime (microseconds truncated to ms)', input: '2026-11-26T12:00:00.999999Z', expected: Date.UTC(2026, 10, 26, 12, 0, 0, 999) },
    { name: 'offset', input: '2026-11-26T14:00:00+02:00', expected: Date.UTC(2026, 10, 26, 12) },
    { name: 'Date', input: new Date(Date.UTC(2026, 0, 1)), expected: Date.UTC(2026, 0, 1) },
    { name: 'invalid Date', input: new Date('nope'), expected: undefined },
    { name: 'epoch ms', input: 1_700_000_000_000, expected: 1_700_000_000_000 },
    { name: 'empty string', input: '', expected: undefined },
    { name: 'null', input: null, expected: undefined },
  ];
  it.each(cases)('$name', ({ input, expected }) => {
    expect(toEpochMs(input)).toBe(expected);
  });
});

describe('keyOfObject', () => {
  it('is namespace/name, and undefined without a name', () => {
    expect(keyOfObject({ metadata: { name: 'a', namespace: 'b' } })).toBe('b/a');
    expect(keyOfObject({ metadata: { name: 'node-1' } })).toBe('/node-1');
    expect(keyOfObject({ metadata: {} })).toBeUndefined();
  });
});
