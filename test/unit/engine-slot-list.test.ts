// The engine's SlotList (src/core/engine.ts) against a plain sorted array:
// random replacements of slots, with chunks of two to five items so that
// chunks split, empty and go; after every step the list, its count and every
// snapshot taken before equal what a from-scratch sort gives.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotList } from '../../src/core/engine.ts';
import type { Chunks } from '../../src/core/engine.ts';

interface Item {
  readonly key: string;
  readonly slot: string;
  readonly n: number;
}

const SLOTS = ['a', 'b', 'c', 'd', 'e', 'f'];
/** Keys of a slot start with the slot; equal keys never cross slots. */
const step = fc.array(
  fc.tuple(fc.constantFrom(...SLOTS), fc.array(fc.record({ suffix: fc.constantFrom('', '/1', '/2', '/2', '/3'), n: fc.nat(9) }), { maxLength: 6 })),
  { minLength: 1, maxLength: 3 },
);

/** What the list must hold: every slot's items, sorted by key, equal keys in the order given. */
function expected(held: ReadonlyMap<string, readonly Item[]>): Item[] {
  const all = [...held.values()].flat().map((it, seq) => ({ it, seq }));
  all.sort((a, b) => (a.it.key < b.it.key ? -1 : a.it.key > b.it.key ? 1 : a.seq - b.seq));
  return all.map((x) => x.it);
}

const flat = (c: Chunks<Item>): Item[] => c.flat();

describe('SlotList', () => {
  it('equals a sorted array after random slot replacements, and snapshots never change', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.array(step, { minLength: 1, maxLength: 30 }), (chunkMax, steps) => {
        const list = new SlotList<Item>(
          (i) => i.key,
          (i) => i.n % 2 === 0,
          chunkMax,
        );
        const held = new Map<string, readonly Item[]>();
        const snapshots: { chunks: Chunks<Item>; want: Item[] }[] = [];
        for (const replacement of steps) {
          const touched = new Set(replacement.map(([slot]) => slot));
          const fresh = new Map<string, Item[]>();
          for (const [slot, items] of replacement)
            fresh.set(
              slot,
              items.map((x) => ({ key: `${slot}${x.suffix}`, slot, n: x.n })),
            );
          for (const slot of touched) held.set(slot, fresh.get(slot)!);
          list.replace(touched, [...fresh.entries()]);
          const want = expected(held);
          expect(list.items).toEqual(want);
          // Same objects, not copies: the rows' identity is what the metrics compare.
          list.items.forEach((x, i) => expect(x).toBe(want[i]));
          expect(list.size).toBe(want.length);
          expect(list.counted).toBe(want.filter((i) => i.n % 2 === 0).length);
          for (const chunk of list.chunks) expect(chunk.length).toBeLessThanOrEqual(chunkMax);
          snapshots.push({ chunks: list.chunks, want });
          for (const s of snapshots) expect(flat(s.chunks)).toEqual(s.want);
        }
      }),
      { seed: 1414, numRuns: 200 },
    );
  });
});
