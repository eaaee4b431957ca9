// Small PromQL builders shared by the alert rules and the dashboard, so both
// select routewarden's series and attach the node name the same way.

/** A Prometheus duration as the rule file writes it: `90s`, `5m`, `1h`. */
export type Duration = string;

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in a single-unit duration; throws on anything else. */
export function durationSeconds(d: Duration): number {
  const m = DURATION.exec(d);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(d)}: want a number and one of ms, s, m, h, d`);
  return Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
}

/** The shortest single-unit spelling of a whole number of seconds. */
export function formatSeconds(seconds: number): Duration {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`cannot format ${seconds}s as a duration`);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * Adds matchers to a base selector body (`job="routewarden"`), giving a full
 * `{...}` selector. The base may be empty.
 */
export function selector(base: string, ...extra: string[]): string {
  return `{${[base, ...extra].filter((s) => s.trim() !== '').join(', ')}}`;
}

/** `a, b, c` for `by (...)` and `on (...)` clauses. */
export function labelList(labels: readonly string[]): string {
  return labels.join(', ');
}

/** Indents every line but the first by `n` spaces, to nest a sub-expression. */
export function indent(expr: string, n = 2): string {
  return expr.split('\n').join(`\n${' '.repeat(n)}`);
}
