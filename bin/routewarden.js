#!/usr/bin/env node
// Entry point. A checkout (src/ beside bin/) runs the TypeScript sources
// through Node 24's built-in type stripping; an installed package and the
// image have no src/ and run the bundle that `npm run build` wrote to dist/.
// Sources first, so that a dist/ left in a checkout by `npm pack` (its
// prepack builds one) never stands in for the code being worked on.
//
// Written to parse and run on any Node.js that can load an ES module: the
// version is checked before anything else is loaded (no top-level await, no
// syntax newer than the check), so an older Node prints one line saying what
// routewarden needs and what it found, and exits 2, instead of a stack trace.
// REQUIRED_MAJOR matches package.json "engines" (a test checks it).
import { existsSync } from 'node:fs';

var REQUIRED_MAJOR = 24;
var found = process.versions.node;
if (Number(found.split('.')[0]) < REQUIRED_MAJOR) {
  process.stderr.write('routewarden: needs Node.js >= ' + REQUIRED_MAJOR + ', found ' + found + ' (' + process.execPath + ')\n');
  process.exit(2);
}

var sources = new URL('../src/cli/main.ts', import.meta.url);
var entry = existsSync(sources) ? sources : new URL('../dist/cli/main.js', import.meta.url);
import(entry.href)
  .then(function (m) {
    return m.main(process.argv.slice(2));
  })
  .then(
    function (code) {
      process.exitCode = code;
    },
    function (err) {
      process.stderr.write('routewarden: ' + (err && err.message ? String(err.message).split('\n')[0] : String(err)) + '\n');
      process.exitCode = 2;
    },
  );
