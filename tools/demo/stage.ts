// The node the demo simulates: a kernel with kube-vip's table and the links
// its routes use. routewarden gets one KernelTable view, the kube-vip player
// another on the same kernel, exactly as two processes on one node would.
// Two kinds: a real kernel in a throw-away network namespace (root), or the
// in-memory kernel that the shared contract suite keeps honest against it.

import type { KernelTable } from '../../src/core/ports.ts';
import type { RouteProtocol, TableId } from '../../src/core/types.ts';
import { createMemoryKernel } from '../../src/kernel/memory.ts';
import { createNetlinkKernelTable } from '../../src/kernel/netlink.ts';
import type { Logger } from '../../src/surface/logger.ts';
import { addLink, ip, setLinkUp } from './netns.ts';

export interface Stage {
  readonly kind: 'netns' | 'memory';
  /** One line for the terminal and the status page banner. */
  readonly description: string;
  /** The view routewarden's service reads and repairs. */
  readonly routewardenKernel: KernelTable;
  /** The view the kube-vip player writes through (same kernel, same table and protocol). */
  readonly kubeVipKernel: KernelTable;
  /** Adds an interface, up. */
  addInterface(name: string): Promise<void>;
  /** Administrative up/down; down makes the kernel flush the routes on it (E20). */
  setInterfaceUp(name: string, up: boolean): Promise<void>;
  /** kube-vip's table as an operator would look at it on the node. */
  showTable(): Promise<{ readonly command: string; readonly lines: readonly string[] }>;
  /** Closes the kube-vip view; routewarden's view belongs to its service, whose stop() closes it. */
  close(): Promise<void>;
}

interface StageOptions {
  readonly table: TableId;
  readonly protocol: RouteProtocol;
  readonly logger: Logger;
}

export function createMemoryStage(opts: StageOptions & { readonly why: string }): Stage {
  const kernel = createMemoryKernel();
  const routewardenKernel = kernel.open(opts.table, opts.protocol);
  const kubeVipKernel = kernel.open(opts.table, opts.protocol);
  return {
    kind: 'memory',
    description: `in-memory kernel table (${opts.why})`,
    routewardenKernel,
    kubeVipKernel,
    async addInterface(name) {
      kernel.addInterface({ name });
    },
    async setInterfaceUp(name, up) {
      kernel.setInterfaceUp(name, up);
    },
    async showTable() {
      // No `ip` to ask: the table as the kernel adapter dumps it, in ip's spelling.
      const { owned, foreign } = await kubeVipKernel.dump();
      const lines = [...owned, ...foreign].map(
        (r) => `${r.destination.replace(/\/(32|128)$/, '')} dev ${r.device ?? '-'} proto ${r.protocol}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`,
      );
      return { command: `table ${opts.table} of the in-memory kernel`, lines };
    },
    close: () => kubeVipKernel.close(),
  };
}

/**
 * The stage inside the namespace `ns`. The calling process must already run
 * in that namespace (`ip netns exec`): netlink sockets belong to the
 * namespace of the process that opens them.
 */
export function createNetnsStage(opts: StageOptions & { readonly ns: string }): Stage {
  const open = (component: string): KernelTable =>
    createNetlinkKernelTable({ table: opts.table, protocol: opts.protocol, logger: opts.logger.child({ component }) });
  const routewardenKernel = open('kernel');
  const kubeVipKernel = open('kube-vip');
  return {
    kind: 'netns',
    description: `real kernel in the throw-away network namespace ${opts.ns} (netlink)`,
    routewardenKernel,
    kubeVipKernel,
    addInterface: (name) => addLink(opts.ns, name),
    setInterfaceUp: (name, up) => setLinkUp(opts.ns, name, up),
    async showTable() {
      const lines: string[] = [];
      for (const family of ['-4', '-6']) {
        const r = await ip(['-n', opts.ns, family, 'route', 'show', 'table', String(opts.table)]);
        lines.push(
          ...r.stdout
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l !== ''),
        );
      }
      return { command: `ip route show table ${opts.table}  (in ${opts.ns})`, lines };
    },
    close: () => kubeVipKernel.close(),
  };
}
