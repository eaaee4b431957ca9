// Request counters per verb and resource. A benchmark uses them to prove that
// routewarden does not poll with LIST after its informers have synced.

export type Verb = 'LIST' | 'WATCH' | 'GET' | 'CREATE' | 'UPDATE' | 'PATCH' | 'DELETE' | 'DISCOVERY';

export const VERBS: readonly Verb[] = ['LIST', 'WATCH', 'GET', 'CREATE', 'UPDATE', 'PATCH', 'DELETE', 'DISCOVERY'];

export interface ApiDoubleStats {
  /** Requests served (or failed by an injected fault), by verb then resource id ("discovery" for discovery). */
  readonly requests: Readonly<Record<Verb, Readonly<Record<string, number>>>>;
  /** Requests turned away by an outage (503, reset or refused before routing). */
  readonly rejectedByOutage: number;
  /** Watch streams open right now, by resource id. */
  readonly openWatches: Readonly<Record<string, number>>;
  /** The current global resourceVersion. */
  readonly resourceVersion: string;
}

export class Counters {
  #counts = new Map<string, number>();
  rejected = 0;

  add(verb: Verb, resource: string): void {
    const k = `${verb} ${resource}`;
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
  }

  get(verb: Verb, resource: string): number {
    return this.#counts.get(`${verb} ${resource}`) ?? 0;
  }

  reset(): void {
    this.#counts.clear();
    this.rejected = 0;
  }

  byVerb(): Record<Verb, Record<string, number>> {
    const out = Object.fromEntries(VERBS.map((v) => [v, {} as Record<string, number>])) as Record<Verb, Record<string, number>>;
    for (const [k, n] of this.#counts) {
      const sp = k.indexOf(' ');
      const verb = k.slice(0, sp) as Verb;
      out[verb][k.slice(sp + 1)] = n;
    }
    return out;
  }
}
