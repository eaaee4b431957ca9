// The one label-selector parser (src/core/label-selector.ts): what
// --kube-vip-selector and the API double's labelSelector both use.
import { describe, expect, it } from 'vitest';
import { parseLabelSelector, SelectorError } from '../../src/core/label-selector.ts';

const KV = { app: 'kube-vip', tier: 'cp', 'kube-vip.io/role': 'table', gen: '7' };

describe('label selectors', () => {
  it.each([
    ['"" => everything', '', true],
    ['equality', 'app=kube-vip', true],
    ['double equals', 'app==kube-vip', true],
    ['inequality', 'tier!=cp', false],
    ['inequality on a missing label selects', 'zone!=a', true],
    ['exists', 'tier', true],
    ['not exists', '!tier', false],
    ['a prefixed key', 'kube-vip.io/role=table', true],
    ['set: in', 'app in (kube-vip)', true],
    ['set: in with spaces and several values', 'app in ( other , kube-vip )', true],
    ['set: in, value absent', 'app in (other)', false],
    ['set: notin', 'tier notin (cp,worker)', false],
    ['set: notin on a missing label selects', 'zone notin (a)', true],
    ['an empty value', 'app in (kube-vip,)', true],
    ['mixed, all hold', 'app in (kube-vip),tier=cp,!zone', true],
    ['mixed, one fails', 'app in (kube-vip),tier=worker', false],
    ['greater than', 'gen>6', true],
    ['less than', 'gen<7', false],
  ] as const)('%s: %s => %s', (_name, selector, want) => {
    expect(parseLabelSelector(selector).matches(KV)).toBe(want);
  });

  it.each([
    ['app=kube vip', 'invalid label value "kube vip" in selector "app=kube vip"'],
    ['app in (kube-vip', 'invalid label selector "app in (kube-vip": unbalanced parentheses'],
    ['app=a,,tier=cp', 'invalid label selector "app=a,,tier=cp": empty requirement'],
    ['-app=x', 'invalid label key "-app" in selector "-app=x"'],
    ['gen>x', 'invalid label selector "gen>x": > needs an integer, not "x"'],
  ])('%s => %s', (selector, message) => {
    expect(() => parseLabelSelector(selector)).toThrow(new SelectorError(message));
  });
});
