// What the demo needs from the terminal and the process: Enter between steps,
// and Ctrl-C / SIGTERM turned into a clean stop.

import { createInterface } from 'node:readline';
import { DemoInterrupted } from './wait.ts';

export interface LineReader {
  /** Resolves on the next line (Enter), or at end of input; rejects when `signal` fires. */
  next(signal: AbortSignal): Promise<void>;
  close(): void;
}

export function createLineReader(input: NodeJS.ReadableStream): LineReader {
  // terminal: false keeps the TTY in cooked mode, so Ctrl-C stays a signal
  // that reaches every process of the demo, not a keystroke only we see.
  const rl = createInterface({ input, terminal: false });
  let waiting: (() => void)[] = [];
  let ended = false;
  const release = (): void => {
    const all = waiting;
    waiting = [];
    for (const w of all) w();
  };
  rl.on('line', () => waiting.shift()?.());
  rl.on('close', () => {
    ended = true;
    release();
  });
  return {
    next(signal) {
      return new Promise((resolve, reject) => {
        if (signal.aborted) return reject(new DemoInterrupted(String(signal.reason)));
        if (ended) return resolve();
        const onAbort = (): void => reject(new DemoInterrupted(String(signal.reason)));
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    },
    close: () => rl.close(),
  };
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** The shell's exit status for a process stopped by `signal`: 128 + its number. */
export const exitCodeForSignal = (signal: NodeJS.Signals): number => 128 + (SIGNAL_NUMBERS[signal] ?? 0);

/** Calls `handler` on SIGINT, SIGTERM and SIGHUP instead of dying; returns the remover. */
export function onTermination(handler: (signal: NodeJS.Signals) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
