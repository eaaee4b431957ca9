// Rewrites the generated flag table of docs/configuration.md from src/cli/options.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { withOptionsTable } from '../src/cli/options-doc.ts';

export const CONFIG_DOC = new URL('../docs/configuration.md', import.meta.url);

export function writeConfigDoc(): string {
  writeFileSync(CONFIG_DOC, withOptionsTable(readFileSync(CONFIG_DOC, 'utf8')));
  return 'docs/configuration.md';
}
