// Kernel tests need root; without it they must be skipped visibly, not pass silently.

import { describe, expect, it, vi } from 'vitest';
import { describeIfRoot } from '../helpers/netns.ts';

describe('describeIfRoot without root', () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const getuid = vi.spyOn(process, 'getuid').mockReturnValue(1000);
  let ran = false;
  describeIfRoot('a suite that needs network namespaces', () => {
    it('is never run', () => {
      ran = true;
    });
  });
  const warnings = [...warn.mock.calls];
  getuid.mockRestore();
  warn.mockRestore();

  it('says which suite it skips and why', () => {
    expect(warnings).toEqual([
      ['SKIPPED "a suite that needs network namespaces": needs root to create network namespaces (running as uid 1000); CI runs as root'],
    ]);
  });

  it('does not run the suite', () => {
    expect(ran).toBe(false);
  });
});
