import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withOptionsTable } from '../../src/cli/options-doc.ts';
import { OPTIONS, envName } from '../../src/cli/options.ts';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it('its flag table is the one generated from the CLI definition (npm run gen)', () => {
    expect(doc).toBe(withOptionsTable(doc));
  });
  it.each(OPTIONS.map((o) => [o.flag]))('documents --%s and its environment variable', (flag) => {
    expect(doc).toContain(`\`--${flag}\``);
    expect(doc).toContain(`\`${envName(flag)}\``);
  });
});
