// kube-vip, played by the demo. It writes routes the way kube-vip does in
// routing-table mode (docs/kube-vip-routing.md §2.1: table, protocol, type
// unicast, scope universe, the VIP's host prefix, the chosen device, nothing
// else) through the same kernel adapter routewarden uses, and it has kube-vip's
// blind spots: it keeps its own list of routes, never re-reads the kernel,
// and a crash leaves every route behind (docs/kube-vip-routing.md §7, E4).

import type { KernelTable } from '../../src/core/ports.ts';
import { KernelError } from '../../src/core/ports.ts';
import type { KubeVipModel } from '../../src/core/model.ts';
import type { RouteSpec } from '../../src/core/types.ts';
import type { Narrator } from './narrator.ts';

export interface VipRoute {
  /** CIDR, as kube-vip builds it: the VIP with /32 or /128. */
  readonly destination: string;
  readonly device: string;
}

export interface KubeVipPlayer {
  readonly running: boolean;
  /** Routes kube-vip believes it owns (its tracker), in the order added. */
  tracked(): VipRoute[];
  /** What kube-vip does when a Service with endpoints appears: one route per VIP. */
  add(route: VipRoute): Promise<void>;
  /** What kube-vip does when the Service goes away. */
  remove(route: VipRoute): Promise<void>;
  /** SIGKILL: no shutdown, so nothing is removed from the kernel. */
  crash(): void;
  /**
   * kube-vip starts again and processes every Service it sees now. An
   * existing identical route answers EEXIST, which kube-vip's no-election path
   * accepts and records as its own (docs/kube-vip-routing.md §2.6).
   */
  restart(routes: readonly VipRoute[]): Promise<void>;
}

export function createKubeVipPlayer(opts: {
  readonly kernel: KernelTable;
  readonly model: Pick<KubeVipModel, 'table' | 'protocol' | 'routeType'>;
  readonly narrator: Narrator;
}): KubeVipPlayer {
  const { kernel, model, narrator } = opts;
  const tracker = new Map<string, VipRoute>();
  let running = true;

  const spec = (r: VipRoute): RouteSpec => ({
    family: r.destination.includes(':') ? 'ipv6' : 'ipv4',
    destination: r.destination,
    table: model.table,
    protocol: model.protocol,
    type: model.routeType,
    device: r.device,
  });
  const spelled = (r: VipRoute): string => `${r.destination} dev ${r.device} table ${model.table} proto ${model.protocol}`;
  const mustRun = (what: string): void => {
    if (!running) throw new Error(`the demo's kube-vip is down and cannot ${what}`);
  };

  async function addOne(r: VipRoute, adopt: boolean): Promise<void> {
    try {
      await kernel.add(spec(r));
      narrator.act('kube-vip', `route add ${spelled(r)}`);
    } catch (err) {
      if (!(adopt && err instanceof KernelError && err.code === 'EEXIST')) throw err;
      narrator.act('kube-vip', `route add ${spelled(r)}: exists (EEXIST), kept as its own`);
    }
    tracker.set(r.destination, r);
  }

  return {
    get running() {
      return running;
    },
    tracked: () => [...tracker.values()],
    async add(r) {
      mustRun('add a route');
      await addOne(r, false);
    },
    async remove(r) {
      mustRun('remove a route');
      await kernel.delete(spec(r));
      tracker.delete(r.destination);
      narrator.act('kube-vip', `route del ${spelled(r)}`);
    },
    crash() {
      running = false;
      narrator.act('kube-vip', 'crashed (SIGKILL): no shutdown, its routes stay in the kernel, nobody updates the table now');
    },
    async restart(routes) {
      running = true;
      tracker.clear();
      narrator.act('kube-vip', 'started again; processes every Service it sees now');
      for (const r of routes) await addOne(r, true);
    },
  };
}
