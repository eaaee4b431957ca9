// Kubernetes' protobuf request bodies, for the kinds kubectl sends that way.
// kubectl 1.32 and later send `kubectl create namespace` and `kubectl create
// service …` (typed clients) as application/vnd.kubernetes.protobuf, and do
// not fall back to JSON when the server answers 415. Those two kinds are
// decoded here into the JSON object the apiserver would have stored; any
// other protobuf body is refused with 415, as an apiserver refuses a media
// type it does not serve.
//
// Written by hand rather than with a protobuf library: the wire format needs
// two primitives (varint, length-delimited), and the field numbers below are
// those of k8s.io/api core/v1 and apimachinery meta/v1 generated.proto, for
// the fields of Namespace and Service; a library would still need them.
// Values the Go encoder writes for empty non-pointer fields ("" and 0) are
// dropped, as the JSON encoding's omitempty drops them. The test
// (test/demo/kubectl.test.ts) creates both kinds with a real kubectl and
// reads them back.

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** The 4-byte prefix of every Kubernetes protobuf body: "k8s\0". */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export class ProtobufError extends Error {
  override name = 'ProtobufError';
}

type Wire = { readonly field: number; readonly type: number; readonly value: bigint | Buffer };

function* fields(buf: Buffer): Generator<Wire> {
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new ProtobufError('truncated varint');
      const b = buf[i++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError('varint too long');
    }
  };
  while (i < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const type = Number(key & 7n);
    if (type === 0) yield { field, type, value: varint() };
    else if (type === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new ProtobufError('truncated field');
      yield { field, type, value: buf.subarray(i, i + len) };
      i += len;
    } else if (type === 1) {
      i += 8;
    } else if (type === 5) {
      i += 4;
    } else throw new ProtobufError(`unsupported wire type ${type}`);
  }
}

/** How one field is decoded: a scalar, a nested message, or a map<string,string>. */
type FieldSpec =
  | { readonly name: string; readonly kind: 'string' | 'int' | 'bool' | 'pointer-bool' | 'int-or-string' | 'time' | 'bytes'; readonly repeated?: boolean }
  | { readonly name: string; readonly kind: 'message'; readonly message: Message; readonly repeated?: boolean }
  | { readonly name: string; readonly kind: 'map' };
type Message = Readonly<Record<number, FieldSpec>>;

const s = (name: string, repeated = false): FieldSpec => ({ name, kind: 'string', repeated });
const n = (name: string): FieldSpec => ({ name, kind: 'int' });
const m = (name: string, message: Message, repeated = false): FieldSpec => ({ name, kind: 'message', message, repeated });

const TIME = { name: '', kind: 'time' } as const;
const OWNER_REFERENCE: Message = {
  1: s('kind'),
  3: s('name'),
  4: s('uid'),
  5: s('apiVersion'),
  6: { name: 'controller', kind: 'pointer-bool' },
  7: { name: 'blockOwnerDeletion', kind: 'pointer-bool' },
};
const MANAGED_FIELDS: Message = {
  1: s('manager'),
  2: s('operation'),
  3: s('apiVersion'),
  4: { ...TIME, name: 'time' },
  6: s('fieldsType'),
  8: s('subresource'),
};
const OBJECT_META: Message = {
  1: s('name'),
  2: s('generateName'),
  3: s('namespace'),
  5: s('uid'),
  6: s('resourceVersion'),
  7: n('generation'),
  8: { ...TIME, name: 'creationTimestamp' },
  9: { ...TIME, name: 'deletionTimestamp' },
  10: n('deletionGracePeriodSeconds'),
  11: { name: 'labels', kind: 'map' },
  12: { name: 'annotations', kind: 'map' },
  13: m('ownerReferences', OWNER_REFERENCE, true),
  14: s('finalizers', true),
  17: m('managedFields', MANAGED_FIELDS, true),
};
const CONDITION: Message = {
  1: s('type'),
  2: s('status'),
  3: n('observedGeneration'),
  4: { ...TIME, name: 'lastTransitionTime' },
  5: s('reason'),
  6: s('message'),
};
const NAMESPACE: Message = {
  1: m('metadata', OBJECT_META),
  2: m('spec', { 1: s('finalizers', true) }),
  3: m('status', {
    1: s('phase'),
    2: m('conditions', { 1: s('type'), 2: s('status'), 4: { ...TIME, name: 'lastTransitionTime' }, 5: s('reason'), 6: s('message') }, true),
  }),
};
const SERVICE_PORT: Message = {
  1: s('name'),
  2: s('protocol'),
  3: n('port'),
  4: { name: 'targetPort', kind: 'int-or-string' },
  5: n('nodePort'),
  6: s('appProtocol'),
};
const SERVICE: Message = {
  1: m('metadata', OBJECT_META),
  2: m('spec', {
    1: m('ports', SERVICE_PORT, true),
    2: { name: 'selector', kind: 'map' },
    3: s('clusterIP'),
    4: s('type'),
    5: s('externalIPs', true),
    7: s('sessionAffinity'),
    8: s('loadBalancerIP'),
    9: s('loadBalancerSourceRanges', true),
    10: s('externalName'),
    11: s('externalTrafficPolicy'),
    12: n('healthCheckNodePort'),
    13: { name: 'publishNotReadyAddresses', kind: 'bool' },
    14: m('sessionAffinityConfig', { 1: m('clientIP', { 1: n('timeoutSeconds') }) }),
    17: s('ipFamilyPolicy'),
    18: s('clusterIPs', true),
    19: s('ipFamilies', true),
    20: { name: 'allocateLoadBalancerNodePorts', kind: 'pointer-bool' },
    21: s('loadBalancerClass'),
    22: s('internalTrafficPolicy'),
    23: s('trafficDistribution'),
  }),
  3: m('status', {
    1: m('loadBalancer', {
      1: m('ingress', { 1: s('ip'), 2: s('hostname'), 3: s('ipMode'), 4: m('ports', { 1: n('port'), 2: s('protocol'), 3: s('error') }, true) }, true),
    }),
    2: m('conditions', CONDITION, true),
  }),
};

/** The kinds decoded, by apiVersion/kind. */
const KINDS: Readonly<Record<string, Message>> = { 'v1/Namespace': NAMESPACE, 'v1/Service': SERVICE };

const int64 = (v: bigint): number => Number(BigInt.asIntN(64, v));

function decodeMessage(buf: Buffer, spec: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const w of fields(buf)) {
    const f = spec[w.field];
    if (f === undefined) continue; // a field this double does not keep
    let value: unknown;
    switch (f.kind) {
      case 'string':
        value = (w.value as Buffer).toString('utf8');
        if (value === '' && !f.repeated) continue;
        break;
      case 'bytes':
        value = (w.value as Buffer).toString('base64');
        break;
      case 'int':
        value = int64(w.value as bigint);
        if (value === 0) continue;
        break;
      case 'bool':
        if ((w.value as bigint) === 0n) continue;
        value = true;
        break;
      case 'pointer-bool':
        value = (w.value as bigint) !== 0n;
        break;
      case 'time': {
        const t = decodeMessage(w.value as Buffer, { 1: n('seconds'), 2: n('nanos') });
        const seconds = (t.seconds as number | undefined) ?? 0;
        if (seconds === 0) continue;
        value = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        break;
      }
      case 'int-or-string': {
        const v = decodeMessage(w.value as Buffer, { 1: n('type'), 2: n('intVal'), 3: s('strVal') });
        value = v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
        break;
      }
      case 'map': {
        const entry = decodeMessage(w.value as Buffer, { 1: s('key'), 2: s('value') });
        const map = (out[f.name] ??= {}) as Record<string, string>;
        map[String(entry.key ?? '')] = String(entry.value ?? '');
        continue;
      }
      case 'message':
        value = decodeMessage(w.value as Buffer, f.message);
        if (!f.repeated && Object.keys(value as object).length === 0) continue;
        break;
    }
    if ('repeated' in f && f.repeated) ((out[f.name] ??= []) as unknown[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

/**
 * Decodes a Kubernetes protobuf body (magic, then a runtime.Unknown holding
 * the type and the object's bytes) into the JSON object. Throws
 * ProtobufError when the body is malformed or its kind is not one of KINDS.
 */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC))
    throw new ProtobufError('not a Kubernetes protobuf body (no "k8s\\0" prefix)');
  const unknown = decodeMessage(body.subarray(MAGIC.length), { 1: m('typeMeta', { 1: s('apiVersion'), 2: s('kind') }), 2: { name: 'raw', kind: 'bytes' } });
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const spec = KINDS[`${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`];
  if (spec === undefined)
    throw new ProtobufError(
      `protobuf bodies are accepted for ${Object.keys(KINDS).join(', ')} only, not ${typeMeta.apiVersion}/${typeMeta.kind}: send application/json`,
    );
  const raw = Buffer.from((unknown.raw as string | undefined) ?? '', 'base64');
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decodeMessage(raw, spec) };
}
