// kube-vip's default-gateway interface (vip_interface unset): a fact of this
// node's kernel that the kernel adapter reads (KernelTable.defaultRoutes) and
// the core tracks, so that a default route that moved after kube-vip started
// is noticed (kube-vip resolves it once, at its start, and keeps it).
// Pure: readings and `now` come in.

/**
 * This node's default routes as kube-vip's GetDefaultGatewayInterface reads
 * them (pkg/vip/util.go): in the main table, the first default route (or its
 * first multipath hop) with an output device, per family. The kernel adapter
 * supplies it; `changedAt`/`previous` say when routewarden last saw the
 * chosen device change (null: never seen changing).
 */
export interface DefaultGateway {
  readonly ipv4: string | null;
  readonly ipv6: string | null;
  /** Epoch ms of the last change of the chosen device that routewarden saw. */
  readonly changedAt: number | null;
  readonly previous: string | null;
}

/** kube-vip's choice: IPv4 first, then IPv6; null when there is no default route with a device. */
export function defaultGatewayInterface(gw: Pick<DefaultGateway, 'ipv4' | 'ipv6'>): string | null {
  return gw.ipv4 ?? gw.ipv6;
}

/** Remembers the last default-gateway reading and when its chosen device last changed. */
export class DefaultGatewayTracker {
  #last: string | null | undefined;
  #changedAt: number | null = null;
  #previous: string | null = null;

  observe(reading: Pick<DefaultGateway, 'ipv4' | 'ipv6'>, now: number): DefaultGateway {
    const dev = defaultGatewayInterface(reading);
    if (this.#last !== undefined && dev !== this.#last) {
      this.#previous = this.#last;
      this.#changedAt = now;
    }
    this.#last = dev;
    return { ipv4: reading.ipv4, ipv6: reading.ipv6, changedAt: this.#changedAt, previous: this.#previous };
  }
}
