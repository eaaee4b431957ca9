// Where the demo's defaults differ from `run`'s: stories that last seconds,
// served on loopback only, and quiet logs (the narration is the output).
// Here rather than in tools/demo so that `routewarden demo --help` shows them
// without loading the demo; tools/demo/options.ts applies them.

export const DEMO_DEFAULTS = { listen: '127.0.0.1:9798', interval: '1s', 'log-level': 'warn' } as const;
