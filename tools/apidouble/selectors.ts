// Label and field selectors, parsed once per request and matched per object.
// Pure. Label selectors are the one parser of core/label-selector.ts; field
// selectors follow k8s.io/apimachinery/pkg/fields, reduced to what clients send.

import { parseLabelSelector as parseLabels, SelectorError } from '../../src/core/label-selector.ts';

export { SelectorError };

export type Matcher = (obj: unknown) => boolean;

function labelsOf(obj: unknown): Readonly<Record<string, string>> {
  const labels = (obj as { metadata?: { labels?: unknown } } | null)?.metadata?.labels;
  return labels !== null && typeof labels === 'object' ? (labels as Record<string, string>) : {};
}

/** Parses a labelSelector query value (core/label-selector.ts); an empty or absent selector matches everything. */
export function parseLabelSelector(selector: string | null | undefined): Matcher {
  const parsed = parseLabels(selector ?? '');
  return (obj) => parsed.matches(labelsOf(obj));
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
