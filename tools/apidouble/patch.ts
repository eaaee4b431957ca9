// PATCH bodies: RFC 7386 merge patch (strategic merge patch is treated as a
// merge patch: the double has no per-field merge keys, so lists are replaced)
// and RFC 6902 JSON patch, which is client-node's default patch content type.

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  readonly op: string;
  readonly path: string;
  readonly from?: string;
  readonly value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(doc: unknown, tokens: readonly string[], pointer: string): { parent: Container; key: string } {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`path ${JSON.stringify(pointer)} has no container`);
  const key = tokens[tokens.length - 1];
  if (key === undefined) throw new PatchError('cannot patch the document root');
  return { parent: cur, key };
}

function arrayIndex(arr: unknown[], key: string, forInsert: boolean, pointer: string): number {
  if (forInsert && key === '-') return arr.length;
  const i = Number(key);
  const max = forInsert ? arr.length : arr.length - 1;
  if (!Number.isInteger(i) || i < 0 || i > max) throw new PatchError(`index ${key} out of range at ${JSON.stringify(pointer)}`);
  return i;
}

function getAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
  }
  return cur;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const { parent, key } = resolveParent(doc, parsePointer(pointer), pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, pointer), 1)[0];
  if (!Object.hasOwn(parent, key)) throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): void {
  const { parent, key } = resolveParent(doc, parsePointer(pointer), pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, !replace, pointer);
    parent.splice(i, replace ? 1 : 0, structuredClone(value));
    return;
  }
  if (replace && !Object.hasOwn(parent, key)) throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
  parent[key] = structuredClone(value);
}

/** RFC 6902 on a copy of `target`. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  const doc = structuredClone(target);
  for (const raw of ops as unknown[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError(`invalid JSON patch operation ${JSON.stringify(raw)}`);
    }
    const op = raw as unknown as JsonPatchOp;
    switch (op.op) {
      case 'add':
        addAt(doc, op.path, op.value, false);
        break;
      case 'replace':
        addAt(doc, op.path, op.value, true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) {
          throw new PatchError(`test failed at ${JSON.stringify(op.path)}`);
        }
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(`${op.op} needs "from"`);
        const v = op.op === 'move' ? removeAt(doc, op.from) : getAt(doc, op.from);
        addAt(doc, op.path, v, false);
        break;
      }
      default:
        throw new PatchError(`unsupported JSON patch op ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}
