import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MEMORY_SAVER_FLAG, memorySaverChosen, useMemorySaver } from '../../src/cli/memory-saver.ts';

describe('V8 memory saver mode for run', () => {
  it('is turned on when node was started without a word on it', () => {
    const set: string[] = [];
    expect(useMemorySaver(['--max-old-space-size=256', '--expose-gc'], (f) => set.push(f))).toBe(true);
    expect(set).toEqual([MEMORY_SAVER_FLAG]);
  });

  it("leaves node's own choice alone, on or off, in either spelling", () => {
    for (const argv of [['--no-memory-saver-mode'], ['--memory-saver-mode'], ['--no-memory_saver_mode'], ['--expose-gc', '--memory_saver_mode']]) {
      const set: string[] = [];
      expect(
        useMemorySaver(argv, (f) => set.push(f)),
        argv.join(' '),
      ).toBe(false);
      expect(set).toEqual([]);
      expect(memorySaverChosen(argv)).toBe(true);
    }
    expect(memorySaverChosen(['--memory-saver-mode-x', '--saver'])).toBe(false);
  });

  it('is a flag this V8 accepts', () => {
    // v8.setFlagsFromString ignores a flag V8 does not know, silently: ask this node's V8 for its list.
    const r = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^\s+--memory-saver-mode\b/m);
  });
});
