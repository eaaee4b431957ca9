// The YAML emitter behind the generated rule file and deploy objects. promtool,
// amtool and the committed-file tests read its output for real; these pin the
// cases where a sloppy emitter would change meaning.

import { describe, expect, it } from 'vitest';
import { toYaml } from '../../alerts/yaml.ts';

describe('toYaml', () => {
  it('renders maps, lists under keys at the key indentation, and nested lists of maps', () => {
    expect(toYaml({ groups: [{ name: 'a', rules: [{ alert: 'X', labels: { severity: 'critical' } }] }] })).toBe(
      ['groups:', '- name: a', '  rules:', '  - alert: X', '    labels:', '      severity: critical', ''].join('\n'),
    );
  });

  it('quotes strings a YAML parser would read as something else', () => {
    const out = toYaml({ a: '30', b: 'true', c: 'no', d: '1e3', e: '1:30', f: '{{ $value }}', g: 'has: colon', h: '', i: ' pad', j: "it's # not", k: 'y' });
    expect(out).toBe(
      ['a: "30"', 'b: "true"', 'c: "no"', 'd: "1e3"', 'e: "1:30"', 'f: "{{ $value }}"', 'g: "has: colon"', 'h: ""', 'i: " pad"', 'j: "it\'s # not"', 'k: "y"', ''].join('\n'),
    );
  });

  it('leaves durations, addresses and URLs plain', () => {
    expect(toYaml({ for: '5m', d: '10.0.0.6/32', v6: 'fd00::8/128', u: 'https://example.com/a.md' })).toBe(
      ['for: 5m', 'd: 10.0.0.6/32', 'v6: fd00::8/128', 'u: https://example.com/a.md', ''].join('\n'),
    );
  });

  it('writes multi-line strings as literal blocks that keep their exact trailing newlines', () => {
    expect(toYaml({ expr: 'a\n  > 0' })).toBe('expr: |-\n  a\n    > 0\n');
    expect(toYaml({ json: '{\n  "a": 1\n}\n' })).toBe('json: |\n  {\n    "a": 1\n  }\n');
    expect(toYaml({ two: 'x\n\n' })).toBe('two: |+\n  x\n\n');
    expect(toYaml({ list: ['x\ny'] })).toBe('list:\n- |-\n    x\n    y\n');
  });

  it('falls back to double quotes for text a block cannot carry', () => {
    expect(toYaml({ s: ' lead\nx' })).toBe('s: " lead\\nx"\n');
    expect(toYaml({ s: 'a\r\nb' })).toBe('s: "a\\r\\nb"\n');
  });

  it('renders empty collections inline, skips undefined, and refuses NaN', () => {
    expect(toYaml({ a: [], b: {}, c: undefined, d: 0, e: false, f: null })).toBe('a: []\nb: {}\nd: 0\ne: false\nf: null\n');
    expect(() => toYaml({ n: Number.NaN })).toThrow(/NaN/);
  });

  it('quotes keys that are not plain identifiers', () => {
    expect(toYaml({ 'app.kubernetes.io/name': 'x', 'routewarden.json': 'v', 'a key': 'z' })).toBe(
      'app.kubernetes.io/name: x\nroutewarden.json: v\n"a key": z\n',
    );
  });
});
