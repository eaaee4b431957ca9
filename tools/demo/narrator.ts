// The demo's terminal voice. Plain lines a person reads top to bottom: a
// heading per story and step, one line per thing that happens (who did it,
// what), routewarden's verdict, and excerpts of what its HTTP endpoints say.
// Colour only on a terminal, and never with NO_COLOR set.

import type { Report } from '../../src/core/report.ts';

export interface Narrator {
  heading(text: string): void;
  field(label: string, value: string): void;
  blank(): void;
  story(index: number, total: number, title: string): void;
  step(index: number, total: number, title: string): void;
  /** Explanation, indented under the current step. */
  say(text: string): void;
  /** Something that happened, and who made it happen. */
  act(actor: string, text: string): void;
  /** routewarden's verdict in one line, then one line per drifted route. */
  verdict(report: Report): void;
  /** Lines quoted from an endpoint, under a `GET <path>` line. */
  excerpt(request: string, lines: readonly string[]): void;
  prompt(text: string): void;
  done(text: string): void;
  failed(text: string): void;
}

const ACTOR_WIDTH = 12;
const INDENT = '      ';

export interface NarratorOptions {
  /** ANSI colours (a terminal without NO_COLOR). */
  readonly color?: boolean;
  /** Terminal width; explanations wrap to it. Default 100. */
  readonly columns?: number;
}

/** Greedy word wrap; a word longer than the width gets a line of its own. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') lines.push(current);
  return lines;
}

export function createNarrator(write: (s: string) => void, opts: NarratorOptions = {}): Narrator {
  const color = opts.color ?? false;
  const width = Math.max(40, Math.min(opts.columns ?? 100, 120) - INDENT.length);
  const paint =
    (code: string) =>
    (s: string): string =>
      color ? `\x1b[${code}m${s}\x1b[0m` : s;
  const bold = paint('1');
  const dim = paint('2');
  const green = paint('32');
  const red = paint('31');
  const cyan = paint('36');
  const line = (s = ''): void => write(`${s}\n`);

  return {
    heading: (text) => line(bold(text)),
    field: (label, value) => line(`  ${label.padEnd(ACTOR_WIDTH)} ${value}`),
    blank: () => line(),
    story(index, total, title) {
      line();
      line(bold(cyan(`━━ Story ${index} of ${total}: ${title} ━━`)));
    },
    step(index, total, title) {
      line();
      line(bold(`[${index}/${total}] ${title}`));
    },
    say(text) {
      for (const l of wrap(text, width)) line(`${INDENT}${dim(l)}`);
    },
    act: (actor, text) => line(`${INDENT}${actor.padEnd(ACTOR_WIDTH)} ${text}`),
    verdict(report) {
      const c = report.counts;
      const compared = report.sources.kernel === 'ok' && report.sources.kubernetes === 'ok';
      const state = !compared ? red('cannot compare') : report.inSync ? green('in sync') : red('DRIFT');
      line(`${INDENT}${'routewarden'.padEnd(ACTOR_WIDTH)} ${state}: expected ${c.expected}, kernel ${c.kernel}, orphan ${c.orphan}, missing ${c.missing}`);
      for (const r of report.routes) {
        if (r.verdict === 'ok') continue;
        const services = r.services.length ? ` [${r.services.join(', ')}]` : '';
        line(`${INDENT}${''.padEnd(ACTOR_WIDTH)}   ${red(r.verdict.padEnd(7))} ${r.destination} dev ${r.device ?? '-'} (${r.reason ?? ''})${services}`);
      }
    },
    excerpt(request, lines) {
      line(`${INDENT}${cyan(request)}`);
      for (const l of lines) line(`${INDENT}  ${l}`);
    },
    prompt: (text) => write(`${INDENT}${dim(text)}`),
    done: (text) => line(bold(green(text))),
    failed: (text) => line(bold(red(text))),
  };
}

/** A narrator on this process's stdout, coloured on a terminal unless NO_COLOR is set. */
export function stdoutNarrator(env: NodeJS.ProcessEnv): Narrator {
  const tty = process.stdout.isTTY === true;
  return createNarrator((s) => void process.stdout.write(s), {
    color: tty && env.NO_COLOR === undefined,
    // A pseudo-terminal without a size reports 0 columns.
    ...(tty && process.stdout.columns > 0 && { columns: process.stdout.columns }),
  });
}
