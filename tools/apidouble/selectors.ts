// Label and field selectors, parsed once per request and matched per object.
// Pure: the grammar is Kubernetes' (k8s.io/apimachinery/pkg/labels and
// pkg/fields) reduced to what clients actually send.

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

export type Matcher = (obj: unknown) => boolean;

type LabelRequirement =
  | { readonly op: 'exists' | 'notexists'; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: ReadonlySet<string> };

const KEY_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

/** Splits on commas that are not inside parentheses (`k in (a,b),x=y`). */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function checkKey(key: string, selector: string): string {
  if (!KEY_RE.test(key)) throw new SelectorError(`invalid label key ${JSON.stringify(key)} in selector ${JSON.stringify(selector)}`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE_RE.test(value)) {
    throw new SelectorError(`invalid label value ${JSON.stringify(value)} in selector ${JSON.stringify(selector)}`);
  }
  return value;
}

function parseLabelRequirement(term: string, selector: string): LabelRequirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = (set[3] ?? '')
      .split(',')
      .map((v) => checkValue(v.trim(), selector));
    return { op: set[2] === 'in' ? 'in' : 'notin', key: checkKey(set[1] ?? '', selector), values: new Set(values) };
  }
  const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (eq) {
    const key = checkKey(eq[1] ?? '', selector);
    const value = checkValue((eq[3] ?? '').trim(), selector);
    return { op: eq[2] === '!=' ? 'notin' : 'in', key, values: new Set([value]) };
  }
  if (term.startsWith('!')) return { op: 'notexists', key: checkKey(term.slice(1).trim(), selector) };
  return { op: 'exists', key: checkKey(term, selector) };
}

function labelsOf(obj: unknown): Readonly<Record<string, string>> {
  const labels = (obj as { metadata?: { labels?: unknown } } | null)?.metadata?.labels;
  return labels !== null && typeof labels === 'object' ? (labels as Record<string, string>) : {};
}

function matchesRequirement(req: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, req.key);
  switch (req.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && req.values.has(labels[req.key] ?? '');
    case 'notin':
      // As in Kubernetes: `k!=v` and `k notin (...)` also select objects without the label.
      return !has || !req.values.has(labels[req.key] ?? '');
  }
}

/** Parses a labelSelector query value; an empty or absent selector matches everything. */
export function parseLabelSelector(selector: string | null | undefined): Matcher {
  if (selector === null || selector === undefined || selector.trim() === '') return () => true;
  const reqs = splitTopLevel(selector).map((t) => parseLabelRequirement(t, selector));
  return (obj) => {
    const labels = labelsOf(obj);
    return reqs.every((r) => matchesRequirement(r, labels));
  };
}

interface FieldRequirement {
  readonly path: readonly string[];
  readonly negate: boolean;
  readonly value: string;
}

/** Splits on an unescaped separator, honouring `\,` `\=` `\!` and `\\` as field selectors do. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[i + 1];
      i++;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

const unescapeField = (s: string): string => s.replace(/\\(.)/g, '$1');

function parseFieldRequirement(term: string, selector: string): FieldRequirement {
  // Find the first unescaped operator: `!=`, `==` or `=`.
  for (let i = 0; i < term.length; i++) {
    const ch = term[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '!' && term[i + 1] === '=') {
      return mkField(term.slice(0, i), true, term.slice(i + 2), selector);
    }
    if (ch === '=') {
      const rest = term[i + 1] === '=' ? term.slice(i + 2) : term.slice(i + 1);
      return mkField(term.slice(0, i), false, rest, selector);
    }
  }
  throw new SelectorError(`invalid field selector ${JSON.stringify(selector)}: ${JSON.stringify(term)} has no operator`);
}

function mkField(field: string, negate: boolean, value: string, selector: string): FieldRequirement {
  const name = field.trim();
  if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(name)) {
    throw new SelectorError(`invalid field selector ${JSON.stringify(selector)}: bad field ${JSON.stringify(name)}`);
  }
  return { path: name.split('.'), negate, value: unescapeField(value) };
}

/** The string value of a dotted field path; missing fields read as "", as the apiserver's field sets do. */
export function fieldValue(obj: unknown, path: readonly string[]): string {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

/**
 * Parses a fieldSelector. Any dotted path is accepted (the apiserver limits the
 * fields per resource; the double is deliberately more lenient).
 */
export function parseFieldSelector(selector: string | null | undefined): Matcher {
  if (selector === null || selector === undefined || selector.trim() === '') return () => true;
  const reqs = splitEscaped(selector, ',')
    .filter((t) => t.trim() !== '')
    .map((t) => parseFieldRequirement(t, selector));
  return (obj) => reqs.every((r) => (fieldValue(obj, r.path) === r.value) !== r.negate);
}
