// `routewarden demo --api-only`: the kubeconfig it prints works with the real
// `routewarden check` (client-node informers against the simulated API), and
// Ctrl-C takes the API and the kubeconfig away.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report.ts';
import { BIN, finished, portClosed, startDemo } from './helpers.ts';

function check(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function report(args: readonly string[]): Promise<{ code: number | null; report: Report }> {
  const r = await check([...args, '--output', 'json']);
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as Report };
  } catch {
    throw new Error(`check printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

describe('routewarden demo --api-only', () => {
  it('prints a kubeconfig that routewarden check reads the sample cluster through, and stops on Ctrl-C', async () => {
    const demo = startDemo(['--api-only']);
    const kubeconfig = (await demo.waitFor(/kubeconfig\s+(\S+)\n/))[1]!;
    const port = Number((await demo.waitFor(/API server\s+http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    await demo.waitFor(/Running until Ctrl-C/);

    // Election none: web, api and both routes of dual belong on demo-node; frontend
    // (Local, endpoint elsewhere) and internal (ClusterIP) do not. This machine's
    // table 198 is what it is, so the verdict is not asserted, only the API side.
    const none = await report(['--kubeconfig', kubeconfig, '--node-name', 'demo-node']);
    expect(none.code).not.toBe(2);
    expect(none.report.sources.kubernetes).toBe('ok');
    expect(none.report.counts.expected).toBe(4);
    expect(
      [...none.report.missing.map((m) => m.destination), ...none.report.routes.filter((r) => r.verdict === 'ok').map((r) => r.destination)].sort(),
    ).toEqual(['192.0.2.10/32', '192.0.2.11/32', '192.0.2.30/32', '2001:db8::30/128']);

    // The Leases are served too: with per-service election only web's lease is held here.
    const service = await report(['--kubeconfig', kubeconfig, '--node-name', 'demo-node', '--election', 'service']);
    expect(service.report.sources.kubernetes).toBe('ok');
    expect(service.report.counts.expected).toBe(1);

    demo.child.kill('SIGINT');
    const { code } = await finished(demo, 10_000);
    expect(code, demo.output()).toBe(0);
    expect(existsSync(kubeconfig)).toBe(false);
    expect(await portClosed(port)).toBe(true);
  });
});
