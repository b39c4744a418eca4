import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.ts';
import { mountGraphqlAndConsole } from '../../src/api/mount-extras.ts';
import { describeWith } from '../support/services.ts';
import { API_TOKEN, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';
import { launchChromium, openPage, screenshots, WIDE, type ConsolePage } from './browser.ts';

/*
 * The console's health column and a subscription's health panel, in real Chromium against the whole sidecar:
 * a healthy receiver, a failing one (503, max_deaths 0, so each chain dies at once) and an auto-disabled
 * subscription. The table must show every action button whole at 1280 px.
 */

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describeWith(['chromium'], 'console subscription health in Chromium', () => {
  let sidecar: TestSidecar;
  let http: HttpServer;
  let endLiveFeeds: (() => void) | undefined;
  let okReceiver: Receiver;
  let failingReceiver: Receiver;
  let browser: Browser;
  let opened: ConsolePage;
  let page: Page;
  const ids = { healthy: 0, failing: 0, disabled: 0 };

  beforeAll(async () => {
    okReceiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
    failingReceiver = await startReceiver(() => ({ status: 503, body: '{"error":"receiver overloaded"}' }));
    sidecar = await startSidecar({ mode: 'sqlite', maxDeaths: 0 });
    const { store } = sidecar.app;
    ids.healthy = (await store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: okReceiver.url, verificationToken: 't', metadata: 'http' })).id;
    ids.failing = (await store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: `${failingReceiver.url}?a-rather-long-query-string=that-makes-the-recipient-column-wide`, verificationToken: 't', metadata: 'http' })).id;
    ids.disabled = (await store.subscriptions.create({ eventName: 'customer.created', recipientUrl: 'https://gone.example.com/hook', verificationToken: 't', metadata: 'http' })).id;
    for (let i = 0; i < 3; i++) await sidecar.app.publish('sales.order.created', { id: 900 + i }, 0);
    await waitFor('six ended chains', async () => (await store.log.chains({ limit: 100 })).filter((c) => c.status === 'delivered' || c.status === 'dead').length === 6);
    await waitFor('the figures of six attempts', async () => {
      const health = await sidecar.app.deps.store.health.get([ids.healthy, ids.failing]);
      return (health.get(ids.failing)?.consecutiveFailures ?? 0) === 3 && health.get(ids.healthy)?.lastSuccessAt !== null && health.has(ids.healthy);
    });
    // As the tracker leaves an auto-disabled subscription.
    await store.subscriptions.update(ids.disabled, { active: false });
    await store.health.markDisabled(ids.disabled, 'Auto-disabled at 2026-12-01T10:00:00.000Z: no successful delivery for 120 h and 10 failed chains in that time', new Date());

    http = createHttpServer({ deps: sidecar.app.deps, port: 0, host: '127.0.0.1', metrics: sidecar.app.metrics });
    endLiveFeeds = mountGraphqlAndConsole(sidecar.app.deps, http);
    await http.listen();
    browser = await launchChromium();
    opened = await openPage(browser, WIDE);
    page = opened.page;
    await page.goto(`${http.url}/`);
    await page.getByLabel('API token', { exact: true }).fill(API_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    endLiveFeeds?.();
    await http?.close();
    await sidecar?.close();
    await okReceiver?.close();
    await failingReceiver?.close();
  });

  const row = (id: number) => page.locator('tbody tr').filter({ has: page.locator('td[data-label="ID"]', { hasText: new RegExp(`^${id}$`) }) });

  it('shows a health column, and every action whole at 1280 px', async () => {
    await page.goto(`${http.url}/#/subscriptions`);
    await page.locator('tbody tr').nth(2).waitFor();
    await row(ids.failing).locator('td[data-label="Health"] .badge').waitFor();
    expect(await row(ids.healthy).locator('td[data-label="Health"]').textContent()).toBe('Healthy100% ok / 24 h');
    expect(await row(ids.failing).locator('td[data-label="Health"]').textContent()).toBe('Failing ×30% ok / 24 h');
    expect(await row(ids.failing).locator('td[data-label="Health"] .health-cell').getAttribute('title')).toContain('receiver overloaded');
    expect(await row(ids.disabled).locator('td[data-label="Health"]').textContent()).toBe('Auto-disabled');
    expect(await row(ids.disabled).locator('td[data-label="Health"] .health-cell').getAttribute('title')).toMatch(/^Auto-disabled at .*120 h/);

    const shots = await screenshots(page, 'subscriptions-health');
    expect(shots.narrowOverflow).toBe(0);
    // Nothing scrolls sideways and no action is cut off at 1280 px.
    const overflow = await page.evaluate(() => {
      const wrap = document.querySelector('.table-wrap');
      return { page: document.documentElement.scrollWidth - document.documentElement.clientWidth, table: wrap ? wrap.scrollWidth - wrap.clientWidth : -1 };
    });
    expect(overflow).toEqual({ page: 0, table: 0 });
    const buttons = page.locator('td[data-label="Actions"] .button, td[data-label="Actions"] button');
    expect(await buttons.count()).toBe(12);
    for (const box of await buttons.evaluateAll((els) => els.map((el) => el.getBoundingClientRect().toJSON() as { left: number; right: number }))) {
      expect(box.left).toBeGreaterThanOrEqual(0);
      expect(box.right).toBeLessThanOrEqual(WIDE);
    }
  });

  it('shows the health panel with the last failure and a chart of the last 24 hours on a subscription\'s page', async () => {
    await page.goto(`${http.url}/#/subscriptions/${ids.failing}/edit`);
    const panel = page.locator('section.health-panel');
    await panel.waitFor();
    const facts = Object.fromEntries(
      await panel.locator('dl.facts dt').evaluateAll((dts) => dts.map((dt) => [dt.textContent ?? '', dt.nextElementSibling?.textContent ?? ''])),
    ) as Record<string, string>;
    expect(facts['Consecutive failed chains']).toBe('3');
    expect(facts['Last failure']).toMatch(/\(HTTP 503\): \{"error":"receiver overloaded"\}/);
    expect(facts['Success rate']).toBe('0% last hour · 0% last 24 h');
    expect(facts['Attempts in flight']).toBe('0');
    expect(await panel.locator('figure.chart figcaption p').textContent()).toBe('0 succeeded and 3 failed in the last 24 hours');
    expect(await panel.locator('figure.chart svg rect.fill-bad').count()).toBe(1);

    await page.goto(`${http.url}/#/subscriptions/${ids.disabled}/edit`);
    await page.locator('section.health-panel').waitFor();
    expect(await page.locator('section.health-panel .disabled-reason').textContent()).toMatch(/^Auto-disabled at .*10 failed chains/);
    await screenshots(page, 'subscription-health-panel');
    expect(opened.errors).toEqual([]);
  });
});
