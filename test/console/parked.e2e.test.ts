import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.ts';
import { mountGraphqlAndConsole } from '../../src/api/mount-extras.ts';
import { encodeTriggerMessage } from '../../src/queue/publish.ts';
import { describeWith } from '../support/services.ts';
import { API_TOKEN, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';
import { launchChromium, openPage, screenshots, type ConsolePage } from './browser.ts';

/*
 * The console's Parked page in real Chromium against the whole sidecar (SQLite, database queue, both consumers):
 * the reasons are listed, Redrive puts one message back and it is delivered, Redrive all puts back one that is
 * still bad and the consumer parks it again under a new id.
 */

describeWith(['chromium'], 'console Parked page in Chromium', () => {
  let sidecar: TestSidecar;
  let http: HttpServer;
  let endLiveFeeds: (() => void) | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let browser: Browser;
  let tab: ConsolePage;
  let page: Page;
  let good: number;
  let bad: number;

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200, body: '{"received":true}' }));
    sidecar = await startSidecar({ mode: 'sqlite' });
    await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http' });
    good = await sidecar.app.store.parked.park({ queue: 'event.trigger', body: encodeTriggerMessage('sales.order.created', { id: 31 }, '1'), reason: 'Magento answered 503 Service Unavailable' });
    bad = await sidecar.app.store.parked.park({ queue: 'event.trigger', body: '["sales.order.created"', reason: 'trigger message is not JSON: unexpected end at position 22' });
    http = createHttpServer({ deps: sidecar.app.deps, port: 0, host: '127.0.0.1', metrics: sidecar.app.metrics });
    endLiveFeeds = mountGraphqlAndConsole(sidecar.app.deps, http);
    await http.listen();
    browser = await launchChromium();
    tab = await openPage(browser);
    page = tab.page;
  });

  afterAll(async () => {
    await browser?.close();
    endLiveFeeds?.();
    await http?.close();
    await sidecar?.close();
    await receiver?.close();
  });

  const row = (id: number) => page.locator('main tbody tr').filter({ has: page.locator('td[data-label="ID"]', { hasText: new RegExp(`^${id}$`) }) });

  it('lists parked messages with their reasons, reached from the navigation', async () => {
    await page.goto(`${http.url}/#/overview`);
    await page.getByLabel('API token', { exact: true }).fill(API_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Parked' }).click();
    await page.getByRole('heading', { level: 1, name: 'Parked messages' }).waitFor();
    await row(bad).waitFor();
    expect(await row(good).locator('td[data-label="Reason"]').textContent()).toBe('Magento answered 503 Service Unavailable');
    expect(await row(bad).locator('td[data-label="Reason"]').textContent()).toBe('trigger message is not JSON: unexpected end at position 22');
    expect(await row(bad).locator('td[data-label="Queue"]').textContent()).toBe('event.trigger');
    expect(await page.getByRole('button', { name: 'Redrive all (2)' }).isEnabled()).toBe(true);
    expect(await page.locator('main').innerText()).not.toMatch(/\b(null|undefined)\b/);
    const shots = await screenshots(page, 'parked');
    expect(shots.narrowOverflow).toBe(0);
  });

  it('Redrive puts one message back: it leaves the list and is delivered', async () => {
    await page.getByRole('button', { name: `Redrive message ${good}` }).click();
    const notice = page.locator('#flash .notice.ok');
    await notice.waitFor();
    expect(await notice.locator('span').first().textContent()).toBe(`Redriven: 1 message (#${good}).`);
    await row(good).waitFor({ state: 'detached' });
    expect(await row(bad).count()).toBe(1);
    await waitFor('the redriven order delivered', () => receiver.requests.length === 1);
    expect(JSON.parse(receiver.requests[0]?.body ?? '{}')).toMatchObject({ type: 'sales.order.created', source: '1' });
    expect((await sidecar.app.store.parked.get([good])).length).toBe(0);
  });

  it('Redrive all puts back one still bad: it is parked again under a new id, with its reason', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Redrive all (1)' }).click();
    await page.locator('#flash .notice.ok').filter({ hasText: `(#${bad})` }).waitFor();
    const again = await waitFor('the bad message parked again', async () => (await sidecar.app.store.parked.list(5)).find((p) => p.id > bad));
    expect(again.body).toBe('["sales.order.created"');
    await page.reload();
    await row(again.id).waitFor();
    expect(await row(again.id).locator('td[data-label="Reason"]').textContent()).toMatch(/not JSON/);
    expect(await row(bad).count()).toBe(0);
    expect(receiver.requests).toHaveLength(1);
    expect(tab.errors).toEqual([]);
  });
});
