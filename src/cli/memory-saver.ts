// V8's memory saver mode for `routewarden run`, set by the process itself.
//
// Why: under churn V8 sizes its old generation well above what is live and
// keeps the pages (docs/performance.md, round nine: at 10,000 Services and
// ten changes a second the resident set climbed from 135 to 151 MB within
// four minutes as shipped before, and stayed at 126-139 MB with this mode, at
// about 0.8 ms more CPU per change). With the mode V8 sizes its heap for
// memory rather than throughput: more frequent full collections, and the
// heap kept near what is live (what the benchmark shows).
//
// Why here and not in NODE_OPTIONS: Node refuses --memory-saver-mode there
// (it is a V8 flag outside Node's allow list), and the image's and the
// package's `routewarden` start node without flags of their own. Setting it
// after start is what `v8.setFlagsFromString` is for; V8 reads this flag at
// each sizing decision of its heap, which the benchmark's numbers show.
//
// node's own command line wins: `node --no-memory-saver-mode
// bin/routewarden.js run` (or `--memory-saver-mode`) is left as given.

import { setFlagsFromString } from 'node:v8';

export const MEMORY_SAVER_FLAG = '--memory-saver-mode';

/** Whether node's own command line already says memory saver mode on or off. */
export function memorySaverChosen(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => /^--(no-)?memory[-_]saver[-_]mode$/.test(a));
}

/**
 * Turns V8's memory saver mode on unless node's command line chose; returns
 * whether it did.
 */
export function useMemorySaver(execArgv: readonly string[] = process.execArgv, set: (flags: string) => void = setFlagsFromString): boolean {
  if (memorySaverChosen(execArgv)) return false;
  set(MEMORY_SAVER_FLAG);
  return true;
}
