// promtool and amtool on the alert rules, their unit tests and the example
// Alertmanager configuration. Skips, loudly, when the tools are missing
// (Debian packages prometheus and prometheus-alertmanager).

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { config, RULES_FILE, renderRules } from '../../alerts/generate.ts';
import { buildRuleGroups, type AlertConfig } from '../../alerts/rules.ts';
import { findBinary } from '../helpers/prometheus.ts';

const promtool = findBinary('promtool', 'PROMTOOL_BIN');
const amtool = findBinary('amtool', 'AMTOOL_BIN');
if (promtool === null) console.warn('SKIPPED promtool tests: promtool is not installed (apt-get install prometheus)');
if (amtool === null) console.warn('SKIPPED amtool tests: amtool is not installed (apt-get install prometheus-alertmanager)');

const TESTS_DIR = fileURLToPath(new URL('../../alerts/tests/', import.meta.url));
const AM_CONFIG = fileURLToPath(new URL('../../alerts/alertmanager.example.yaml', import.meta.url));
const testFiles = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function run(bin: string, args: string[], cwd?: string): { code: number | null; out: string } {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The unit tests run against rules generated from `c`, in a scratch copy of alerts/. */
function unitTestsAgainst(c: AlertConfig): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'routewarden-promtool-'));
  scratch.push(dir);
  writeFileSync(join(dir, 'routewarden.rules.yaml'), renderRules(c));
  mkdirSync(join(dir, 'tests'));
  for (const f of testFiles) copyFileSync(join(TESTS_DIR, f), join(dir, 'tests', f));
  return run(promtool as string, ['test', 'rules', ...testFiles], join(dir, 'tests'));
}

describe.skipIf(promtool === null)('promtool', () => {
  it('check rules: the committed rule file is valid and holds every rule', () => {
    const { code, out } = run(promtool as string, ['check', 'rules', RULES_FILE]);
    expect(code, out).toBe(0);
    const count = buildRuleGroups(config).reduce((n, g) => n + g.rules.length, 0);
    expect(out).toContain(`SUCCESS: ${count} rules found`);
  });

  it('check rules: a variant with a cluster label and another selector is valid too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routewarden-promtool-'));
    scratch.push(dir);
    const file = join(dir, 'variant.rules.yaml');
    writeFileSync(file, renderRules({ ...config, selector: 'namespace="kube-system", job=~"routewarden.*"', clusterLabels: ['cluster'] }));
    const { code, out } = run(promtool as string, ['check', 'rules', file]);
    expect(code, out).toBe(0);
  });

  it.each(testFiles)('test rules: %s passes', (file) => {
    const { code, out } = run(promtool as string, ['test', 'rules', file], TESTS_DIR);
    expect(code, out).toBe(0);
    expect(out).toContain('SUCCESS');
  });

  // The unit tests must be able to fail: rules that fire too early, or at the
  // wrong threshold, are caught.
  it('test rules fail when every for: is dropped', () => {
    const noFor = Object.fromEntries(Object.keys(config.for).map((k) => [k, '0s'])) as AlertConfig['for'];
    const { code, out } = unitTestsAgainst({ ...config, for: noFor });
    expect(code, out).not.toBe(0);
    expect(out).toContain('FAILED');
  });

  it('test rules fail when a threshold moves', () => {
    const { code, out } = unitTestsAgainst({ ...config, thresholds: { ...config.thresholds, repairsPerHour: 20 } });
    expect(code, out).not.toBe(0);
    expect(out).toMatch(/FAILED:[\s\S]*RouteWardenRepairsFlapping/);
  });

  it('test rules fail when routine guard refusals stop being ignored', () => {
    const { code, out } = unitTestsAgainst({ ...config, thresholds: { ...config.thresholds, ignoredBlockReasons: [] } });
    expect(code, out).not.toBe(0);
    expect(out).toMatch(/FAILED:[\s\S]*RouteWardenRepairBlocked/);
  });
});

describe.skipIf(amtool === null)('amtool', () => {
  it('check-config: the example Alertmanager configuration is valid', () => {
    const { code, out } = run(amtool as string, ['check-config', AM_CONFIG]);
    expect(code, out).toBe(0);
    expect(out).toContain('SUCCESS');
    expect(out).toMatch(/\d+ inhibit rules/);
  });

  it.each([
    ['critical', 'RouteWardenMissingRoutes', 'routewarden-page'],
    ['critical', 'RouteWardenVIPNotHeld', 'routewarden-page'],
    ['warning', 'RouteWardenOrphanRoutes', 'routewarden-chat'],
    ['info', 'RouteWardenForeignRoutes', 'routewarden-ticket'],
    ['info', 'RouteWardenRoutesNotJudged', 'routewarden-ticket'],
    ['critical', 'SomeoneElsesAlert', 'default'],
  ])('routes a %s %s to %s', (severity, alertname, receiver) => {
    const { code, out } = run(amtool as string, [
      'config',
      'routes',
      'test',
      `--config.file=${AM_CONFIG}`,
      `--verify.receivers=${receiver}`,
      `alertname=${alertname}`,
      `severity=${severity}`,
      'job=routewarden',
      'node=worker-1',
    ]);
    expect(code, out).toBe(0);
    expect(out.trim().split('\n')[0]).toBe(receiver);
  });

  it('routes every severity the rules use to a receiver of its own', () => {
    const severities = new Set(buildRuleGroups(config).flatMap((g) => g.rules.flatMap((r) => ('alert' in r ? [r.labels.severity] : []))));
    const receivers = [...severities].map((severity) => {
      const { out } = run(amtool as string, ['config', 'routes', 'test', `--config.file=${AM_CONFIG}`, 'alertname=RouteWardenX', `severity=${severity}`]);
      return out.trim().split('\n')[0];
    });
    expect(new Set(receivers).size).toBe(severities.size);
    expect(receivers).not.toContain('default');
  });
});
