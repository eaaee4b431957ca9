// Kubernetes label selectors (k8s.io/apimachinery/pkg/labels: Parse), one
// parser for every place that takes one: --kube-vip-selector (matched against
// the pods client-side, after the API server filtered them with the same
// text) and the API double's `labelSelector` query. Pure.
//
// Hand-written because no maintained npm package parses the Kubernetes
// selector grammar (@kubernetes/client-node only passes the string on). The
// grammar, as Kubernetes' lexer accepts it:
//   selector    = requirement *( "," requirement )
//   requirement = key | "!" key | key ( "=" | "==" | "!=" ) value
//               | key ( "in" | "notin" ) "(" [ value *( "," value ) ] ")"
//               | key ( ">" | "<" ) integer
// Keys are qualified names (an optional DNS-subdomain prefix and "/", then up
// to 63 characters); values are empty or up to 63 characters of
// [A-Za-z0-9-_.] starting and ending alphanumeric.

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

export type Requirement =
  | { readonly op: 'exists' | 'notexists'; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: ReadonlySet<string> }
  | { readonly op: 'gt' | 'lt'; readonly key: string; readonly bound: number };

export interface LabelSelector {
  /** Empty: the selector matches everything. */
  readonly requirements: readonly Requirement[];
  matches(labels: Readonly<Record<string, string>>): boolean;
}

const NAME = '[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const PREFIX = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*';
const KEY_RE = new RegExp(`^(?:${PREFIX}/)?${NAME}$`);
const VALUE_RE = new RegExp(`^(?:${NAME})?$`);

/** Splits on commas outside parentheses (`k in (a,b),x=y`). */
function splitTopLevel(s: string, selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0 || depth > 1) throw new SelectorError(`invalid label selector ${JSON.stringify(selector)}: unbalanced parentheses`);
    if (ch === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) throw new SelectorError(`invalid label selector ${JSON.stringify(selector)}: unbalanced parentheses`);
  parts.push(cur.trim());
  if (parts.some((p) => p === '')) throw new SelectorError(`invalid label selector ${JSON.stringify(selector)}: empty requirement`);
  return parts;
}

function key(k: string, selector: string): string {
  if (!KEY_RE.test(k) || k.length > 316) throw new SelectorError(`invalid label key ${JSON.stringify(k)} in selector ${JSON.stringify(selector)}`);
  return k;
}

function value(v: string, selector: string): string {
  if (!VALUE_RE.test(v)) throw new SelectorError(`invalid label value ${JSON.stringify(v)} in selector ${JSON.stringify(selector)}`);
  return v;
}

function requirement(term: string, selector: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = set[3]!.trim() === '' ? [] : set[3]!.split(',').map((v) => value(v.trim(), selector));
    return { op: set[2] === 'in' ? 'in' : 'notin', key: key(set[1]!, selector), values: new Set(values) };
  }
  const cmp = /^([^<>=!\s]+)\s*([<>])\s*(\S+)$/.exec(term);
  if (cmp) {
    if (!/^-?\d+$/.test(cmp[3]!))
      throw new SelectorError(`invalid label selector ${JSON.stringify(selector)}: ${cmp[2]} needs an integer, not ${JSON.stringify(cmp[3])}`);
    return { op: cmp[2] === '>' ? 'gt' : 'lt', key: key(cmp[1]!, selector), bound: Number(cmp[3]) };
  }
  const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (eq) return { op: eq[2] === '!=' ? 'notin' : 'in', key: key(eq[1]!, selector), values: new Set([value(eq[3]!.trim(), selector)]) };
  if (term.startsWith('!')) return { op: 'notexists', key: key(term.slice(1).trim(), selector) };
  return { op: 'exists', key: key(term, selector) };
}

function matches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && r.values.has(labels[r.key]!);
    case 'notin':
      // As in Kubernetes: `k!=v` and `k notin (…)` also select objects without the label.
      return !has || !r.values.has(labels[r.key]!);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(labels[r.key]!)) return false;
      const n = Number(labels[r.key]);
      return r.op === 'gt' ? n > r.bound : n < r.bound;
    }
  }
}

/** Parses a label selector; "" (or only blanks) matches everything. Throws SelectorError. */
export function parseLabelSelector(selector: string): LabelSelector {
  const requirements = selector.trim() === '' ? [] : splitTopLevel(selector, selector).map((t) => requirement(t, selector));
  return { requirements, matches: (labels) => requirements.every((r) => matches(r, labels)) };
}

/** A qualified name as label keys and LoadBalancer classes use: `[dns-subdomain/]name`. */
export const isQualifiedName = (s: string): boolean => KEY_RE.test(s) && s.length <= 316;
