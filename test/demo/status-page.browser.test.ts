// The status page in a real headless browser (Debian's chromium through
// playwright-core), while the demo's stories run in this process on the
// in-memory table: during drift the page shows the orphan and the missing
// route, after the repair it shows none and says "in sync" by refreshing
// itself, and at a phone's width nothing overflows sideways.
// Screenshots go to test-artifacts/ for a person to look at.

import { PATIENCE_MS } from '../helpers/patience.ts';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNarrator } from '../../tools/demo/narrator.ts';
import { demoConfig } from '../../tools/demo/options.ts';
import { runStories } from '../../tools/demo/run.ts';
import { startSession } from '../../tools/demo/session.ts';
import type { DemoSession } from '../../tools/demo/session.ts';
import { createMemoryStage } from '../../tools/demo/stage.ts';
import { STORIES } from '../../tools/demo/stories.ts';
import { silentLogger } from '../../src/surface/logger.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`SKIPPED status page browser test: ${CHROMIUM} not found (apt-get install -y chromium)`);

interface PageView {
  readonly state: string;
  readonly rows: Record<string, string>;
  readonly overflow: boolean;
}

// Runs in the page (a string: this project's TypeScript has no DOM types).
const READ_PAGE = `({
  state: document.querySelector('#state')?.textContent ?? '',
  rows: Object.fromEntries([...document.querySelectorAll('tr[data-verdict]')]
    .map((tr) => [tr.getAttribute('data-destination'), tr.getAttribute('data-verdict')])),
  overflow: document.documentElement.scrollWidth > window.innerWidth || document.body.scrollWidth > document.body.clientWidth,
})`;

/**
 * What the page shows. The page reloads itself every few seconds; a read
 * that a reload interrupts is simply read again.
 */
async function view(page: Page): Promise<PageView> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await page.evaluate(READ_PAGE)) as PageView;
    } catch (err) {
      if (attempt >= 5 || !/context was destroyed|navigat/i.test((err as Error).message)) throw err;
      await page.waitForLoadState('load');
    }
  }
}

/** Text of one element (the locator waits for it, across the page's own reloads). */
async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent({ timeout: PATIENCE_MS })) ?? '';
}

/** page.goto, again when the page's own refresh navigates at the same moment (it reloads every 2 s). */
async function open(page: Page, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return;
    } catch (err) {
      if (attempt >= 5 || !/interrupted by another navigation/i.test((err as Error).message)) throw err;
    }
  }
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe.skipIf(!haveChromium)('the status page during the demo, in headless chromium', () => {
  let browser: BrowserContext;
  let profile: string;
  let session: DemoSession;
  const controller = new AbortController();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'rw-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const config = demoConfig({ listen: '127.0.0.1:0' }, { env: {}, hostname: 'test' });
    const logger = silentLogger();
    const stage = createMemoryStage({ why: 'browser test', table: config.model.table, protocol: config.model.protocol, logger });
    session = await startSession({ config, stage, logger, signal: controller.signal });
  });

  afterAll(async () => {
    controller.abort('test over');
    await browser?.close();
    await session?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows the orphan and the missing route during drift, none after the repair, on a desktop and on a phone', async () => {
    const page = await browser.newPage();
    const seen: string[] = [];
    await runStories({
      session,
      narrator: createNarrator(() => {}),
      stories: [STORIES['seed-762'], STORIES['dual-stack-bounce']],
      signal: controller.signal,
      pause: async ({ story, step }) => {
        const at = `${story.name}/${step.id}`;
        seen.push(at);
        if (at === 'seed-762/repair') {
          // The drift step is done; routewarden may not repair until the story goes on.
          await page.setViewportSize(DESKTOP);
          await open(page, `${session.url}/`);
          const drift = await view(page);
          expect(drift.state).toBe('drift');
          expect(drift.rows).toEqual({ '192.0.2.10/32': 'orphan', '192.0.2.11/32': 'ok', '192.0.2.20/32': 'missing' });
          expect(await text(page, 'tr[data-destination="192.0.2.10/32"]')).toContain('no-service');
          // How long each route has drifted, and what repair will do: the demo runs with --remediate.
          expect(await text(page, 'tr[data-destination="192.0.2.10/32"] .since')).toMatch(/^drifting for \d+s \(since \d{4}-\d\d-\d\dT[\d:]+Z\)$/);
          expect(await text(page, 'tr[data-destination="192.0.2.20/32"] .since')).toMatch(/^drifting for /);
          expect(await page.locator('tr[data-destination="192.0.2.11/32"] .since').count()).toBe(0);
          expect(await text(page, '#repair')).toMatch(/^repair: on · flush-rebuild · grace \d+s · .*no repair yet$/);
          await shoot(page, 'demo-seed-762-drift');

          await page.setViewportSize(PHONE);
          await open(page, `${session.url}/`);
          const phone = await view(page);
          expect(phone.overflow).toBe(false);
          // On a phone the Services column is gone; the Service moves under the destination.
          expect(await page.locator('tr[data-destination="192.0.2.20/32"] .svc-inline').isVisible()).toBe(true);
          expect(await text(page, 'tr[data-destination="192.0.2.20/32"] .svc-inline')).toBe('default/web');
          expect(await page.locator('th.svc').isVisible()).toBe(false);
          await shoot(page, 'demo-seed-762-drift-phone');
          await page.setViewportSize(DESKTOP);
        }
        if (at === 'seed-762/restart') {
          // Repaired. The open page was not reloaded by us: it refreshes itself.
          await expect.poll(async () => (await view(page)).state, { timeout: PATIENCE_MS }).toBe('in sync');
          expect((await view(page)).rows).toEqual({ '192.0.2.11/32': 'ok', '192.0.2.20/32': 'ok' });
          expect(await text(page, '#repair')).toMatch(/· last repair \d+s ago \([\d:TZ-]+\): success, [1-9]\d* added, [1-9]\d* deleted$/);
          expect(await page.locator('.since').count()).toBe(0);
          await shoot(page, 'demo-seed-762-repaired');
          // The links lead to the metrics and the JSON report.
          const drift = (await (
            await page.context().request.get(new URL((await page.locator('#link-drift').getAttribute('href')) ?? '', `${session.url}/`).href)
          ).json()) as { node: string; inSync: boolean };
          expect([drift.node, drift.inSync]).toEqual(['demo-node', true]);
          const metrics = await (
            await page.context().request.get(new URL((await page.locator('#link-metrics').getAttribute('href')) ?? '', `${session.url}/`).href)
          ).text();
          expect(metrics).toMatch(/^routewarden_orphan_routes\{/m);
        }
        if (at === 'dual-stack-bounce/link-up') {
          await open(page, `${session.url}/`);
          expect((await view(page)).rows).toEqual({ '192.0.2.30/32': 'missing', '2001:db8::30/128': 'missing', '2001:db8::31/128': 'ok' });
          const row = await text(page, 'tr[data-destination="2001:db8::30/128"]');
          expect(row).toContain('interface-down');
          expect(row).toContain('vips0 is down');
          await shoot(page, 'demo-dual-stack-interface-down');
        }
      },
    });
    expect(seen).toContain('seed-762/repair');
    expect(seen).toContain('seed-762/restart');
    expect(seen).toContain('dual-stack-bounce/link-up');

    await page.setViewportSize(PHONE);
    await open(page, `${session.url}/`);
    const final = await view(page);
    expect(final.state).toBe('in sync');
    expect(Object.values(final.rows).filter((v) => v !== 'ok')).toEqual([]);
    expect(Object.keys(final.rows)).toHaveLength(3);
    expect(final.overflow).toBe(false);
    expect(await page.title()).toBe('in sync · routewarden — demo-node');
    await shoot(page, 'demo-final-phone');
  });
});
