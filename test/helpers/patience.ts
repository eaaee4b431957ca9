// How long a test waits for a condition before it gives up. It bounds a hang;
// it is not an expectation of speed: a shared CI machine with both cores busy
// runs the CLI, the API double and the kernel notifications many times slower
// than a quiet one, and a test that fails there but not here measured the
// machine, not routewarden. Below vitest's testTimeout (vitest.config.ts), so
// a failure names the condition it waited for.
export const PATIENCE_MS = 60_000;
