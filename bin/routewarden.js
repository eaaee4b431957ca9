#!/usr/bin/env node
// Entry point. A production image runs the compiled dist/; a checkout runs the
// TypeScript sources directly through Node 24's built-in type stripping.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const entry = existsSync(compiled) ? compiled : fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
