// Faults in the kernel's answers, for the real CLI: compiles
// test/helpers/netlink-fault.c (an LD_PRELOAD wrapper of sendmsg/recvmsg on
// NETLINK_ROUTE sockets, whose header says what it does) and switches it on
// and off through a file, while the process runs. Needs a C compiler, which an
// install of routewarden needs anyway (the patched netlink binding is built at
// `npm ci`); without one the test fails and says so.

import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./netlink-fault.c', import.meta.url));

export type NetlinkFaultMode = 'drop' | 'corrupt';

export interface NetlinkFault {
  /** The environment that loads the injector into a process (inert until set()). */
  readonly env: Record<string, string>;
  /** Switch the fault on (`drop`: no request is answered; `corrupt`: dumps cannot be decoded) or off (null). */
  set(mode: NetlinkFaultMode | null): void;
}

/** Build the injector into `dir` (readable by any user, like the world's directory). */
export function netlinkFault(dir: string): NetlinkFault {
  const library = join(dir, 'netlink-fault.so');
  try {
    execFileSync(process.env.CC ?? 'cc', ['-shared', '-fPIC', '-O2', '-o', library, SOURCE, '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`cannot compile ${SOURCE} (a C compiler is needed, as for the netlink binding): ${(err as Error).message}`);
  }
  const switchFile = join(dir, 'netlink-fault');
  return {
    env: { LD_PRELOAD: library, RW_NETLINK_FAULT: switchFile },
    set(mode) {
      if (mode === null) rmSync(switchFile, { force: true });
      else writeFileSync(switchFile, `${mode}\n`);
    },
  };
}
