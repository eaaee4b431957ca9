// PATCH bodies: RFC 7386 merge patch, RFC 6902 JSON patch (client-node's
// default patch content type), and strategic merge patch as kubectl apply
// writes it. The double has no per-field merge keys (they live in the Go
// types), so a strategic patch merges a list by key only where the patch
// names the key: kubectl's three-way patch sends `$setElementOrder/<list>`
// with every merged list it changes, each element reduced to its merge key.
// Without that directive a list is replaced, as in a merge patch.

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

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

const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';

/** The merge key an `$setElementOrder` list implies: every element an object with the same single key. */
function mergeKeyOf(order: unknown): string | null {
  if (!Array.isArray(order) || order.length === 0 || !order.every(isObject)) return null;
  const keys = new Set(order.flatMap((o) => Object.keys(o as object)));
  return keys.size === 1 ? [...keys][0]! : null;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Orders `items` as `order` lists them (by `key`, or by value for primitives); the rest keep their place after. */
function reorder(items: unknown[], order: unknown, key: string | null): unknown[] {
  if (!Array.isArray(order)) return items;
  const id = (v: unknown): unknown => (key !== null && isObject(v) ? v[key] : v);
  const wanted = order.map((o) => (key !== null && isObject(o) ? o[key] : o));
  const listed = wanted.flatMap((w) => items.filter((i) => same(id(i), w)));
  return [...listed, ...items.filter((i) => !wanted.some((w) => same(id(i), w)))];
}

function mergeList(target: unknown, patch: unknown[], order: unknown): unknown[] {
  const key = mergeKeyOf(order);
  const current = Array.isArray(target) ? [...target] : [];
  if (key !== null) {
    for (const item of patch) {
      if (!isObject(item)) continue;
      const at = current.findIndex((c) => isObject(c) && same(c[key], item[key]));
      if (item.$patch === 'delete') {
        if (at >= 0) current.splice(at, 1);
      } else if (at >= 0) current[at] = strategicMergePatch(current[at], item);
      else current.push(strategicMergePatch(undefined, item));
    }
    return reorder(current, order, key);
  }
  if (Array.isArray(order) && patch.every((v) => !isObject(v))) {
    // A primitive list with the merge strategy (finalizers): the union, in the patch's order.
    for (const v of patch) if (!current.some((c) => same(c, v))) current.push(v);
    return reorder(current, order, null);
  }
  return structuredClone(patch);
}

/**
 * Strategic merge patch with the directives kubectl apply sends:
 * `$setElementOrder/<list>`, `$patch: delete | replace`, `$retainKeys`,
 * `$deleteFromPrimitiveList/<list>`. Returns undefined for `$patch: delete`.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return structuredClone(rest);
  }
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(out[k], v, patch[`${SET_ORDER}${k}`]);
    else {
      const merged = isObject(v) ? strategicMergePatch(out[k], v) : structuredClone(v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(DELETE_PRIMITIVES) && Array.isArray(v)) {
      const field = k.slice(DELETE_PRIMITIVES.length);
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !v.some((d) => same(d, x)));
    } else if (k.startsWith(SET_ORDER) && !(k.slice(SET_ORDER.length) in patch) && Array.isArray(out[k.slice(SET_ORDER.length)])) {
      const field = k.slice(SET_ORDER.length);
      out[field] = reorder(out[field] as unknown[], v, mergeKeyOf(v));
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as unknown[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
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
