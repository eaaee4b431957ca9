// Waiting for a state, never for a length of time: the demo polls the thing it
// waits for, with a deadline, and gives up at once when it is interrupted.

import { setTimeout as delay } from 'node:timers/promises';

/** The demo was interrupted (Ctrl-C, SIGTERM, the parent went away). Not a failure of the story. */
export class DemoInterrupted extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`interrupted: ${reason}`);
    this.name = 'DemoInterrupted';
    this.reason = reason;
  }
}

/** A state the story expected did not come in time. */
export class DemoTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoTimeout';
  }
}

export function throwIfInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw new DemoInterrupted(String(signal.reason ?? 'aborted'));
}

export interface UntilOptions {
  readonly signal: AbortSignal;
  /** What is awaited, for the timeout message: "routewarden to report drift". */
  readonly what: string;
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** What was last seen, appended to the timeout message. */
  readonly lastSeen?: () => string;
}

/**
 * Resolves with the first truthy value `probe` returns. Throws DemoTimeout
 * after the deadline and DemoInterrupted as soon as the signal fires.
 */
export async function until<T>(probe: () => T | Promise<T>, opts: UntilOptions): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    throwIfInterrupted(opts.signal);
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) {
      const seen = opts.lastSeen?.();
      throw new DemoTimeout(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${opts.what}${seen ? `; last seen: ${seen}` : ''}`);
    }
    try {
      await delay(opts.pollMs ?? 50, undefined, { signal: opts.signal });
    } catch {
      throwIfInterrupted(opts.signal);
    }
  }
}
