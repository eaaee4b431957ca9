// A small, deterministic YAML emitter for the generated observability files
// (Prometheus rule groups, the PrometheusRule and the dashboard ConfigMap).
// Those files hold only maps, lists, strings, numbers and booleans, so a full
// YAML library is not needed; what matters is that the output is stable (the
// committed files are compared byte for byte with a fresh generation) and that
// long PromQL and JSON stay readable as block scalars.

export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue | undefined };

const INDENT = '  ';

/** Renders a document; keys keep insertion order, `undefined` values are left out. */
export function toYaml(value: YamlValue): string {
  return `${render(value).join('\n')}\n`;
}

function render(value: YamlValue): string[] {
  if (Array.isArray(value)) return renderList(value as readonly YamlValue[]);
  if (isMap(value)) return renderMap(value);
  return scalar(value as Scalar).split('\n');
}

type Scalar = string | number | boolean | null;
type YamlMap = { readonly [key: string]: YamlValue | undefined };

function isMap(value: YamlValue): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function definedEntries(map: YamlMap): [string, YamlValue][] {
  return Object.entries(map).filter((e): e is [string, YamlValue] => e[1] !== undefined);
}

/** `[]` and `{}` for empty collections, else null: the value needs lines of its own. */
function inline(v: YamlValue): string | null {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : null;
  if (isMap(v)) return definedEntries(v).length === 0 ? '{}' : null;
  return scalar(v as Scalar);
}

// Every renderer returns lines relative to its own indentation; the caller
// prefixes them, so nesting composes.
function renderMap(map: YamlMap): string[] {
  const entries = definedEntries(map);
  if (entries.length === 0) return ['{}'];
  const lines: string[] = [];
  for (const [key, v] of entries) {
    const k = /^[A-Za-z_][A-Za-z0-9_./-]*$/.test(key) ? key : JSON.stringify(key);
    const one = inline(v);
    if (one !== null) {
      lines.push(...`${k}: ${one}`.split('\n'));
      continue;
    }
    lines.push(`${k}:`);
    // Lists under a key stay at the key's indentation (the usual Kubernetes style).
    const pad = Array.isArray(v) ? '' : INDENT;
    for (const line of render(v)) lines.push(line === '' ? '' : `${pad}${line}`);
  }
  return lines;
}

function renderList(list: readonly YamlValue[]): string[] {
  if (list.length === 0) return ['[]'];
  const lines: string[] = [];
  for (const item of list) {
    const one = inline(item);
    const [first = '', ...rest] = one !== null ? one.split('\n') : render(item);
    lines.push(`- ${first}`);
    for (const line of rest) lines.push(line === '' ? '' : `${INDENT}${line}`);
  }
  return lines;
}

/**
 * A scalar. Multi-line strings become literal block scalars (`|-`, `|`, or
 * `|+` to keep the exact trailing newlines), so what a YAML parser reads back
 * is exactly the input; anything a plain scalar could misread is JSON-quoted
 * (a JSON string is a valid YAML double-quoted scalar).
 */
function scalar(v: Scalar): string {
  if (v === null) return 'null';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`toYaml: cannot render the number ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (v.includes('\n') && blockSafe(v)) return block(v);
  return plainSafe(v) ? v : JSON.stringify(v);
}

function block(s: string): string {
  const trailing = /\n*$/.exec(s)?.[0].length ?? 0;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = s.slice(0, s.length - trailing);
  const lines = body.split('\n').map((line) => (line === '' ? '' : `${INDENT}${line}`));
  const kept = chomp === '+' ? Array.from({ length: trailing - 1 }, () => '') : [];
  return [`|${chomp}`, ...lines, ...kept].join('\n');
}

// Block scalars cannot carry control characters, and a first line that starts
// with a space would need an indentation indicator: such strings are quoted.
function blockSafe(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s) && !/^[ \t]/.test(s) && !/\n\t/.test(s);
}

// Plain (unquoted) only when a YAML 1.1 or 1.2 parser cannot read it as
// anything but this exact string.
function plainSafe(s: string): boolean {
  if (s === '' || s.trim() !== s) return false;
  if (/^(?:true|false|yes|no|on|off|y|n|null|~)$/i.test(s)) return false;
  if (looksNumeric(s)) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s)) return false;
  if (/: |\s#|:$/.test(s)) return false;
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f]/.test(s);
}

// YAML 1.1 and 1.2 numbers, sexagesimals and dates; `5m` or `90s` stay plain.
function looksNumeric(s: string): boolean {
  return (
    /^[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?$/.test(s) ||
    /^[-+]?0[xXoObB]/.test(s) ||
    /^[-+]?\.(?:inf|nan)$/i.test(s) ||
    /^\d{4}-\d\d?-\d\d?/.test(s) ||
    /^[-+.\d][^:]*:/.test(s)
  );
}
