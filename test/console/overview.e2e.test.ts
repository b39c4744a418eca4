import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createConsoleHandler } from '../../src/console/handler.ts';
import { describeWith } from '../support/services.ts';
import { launchChromium, openPage, publishScreenshot, screenshots } from './browser.ts';
import { overviewFixture } from './overview-fixture.ts';

/*
 * The overview and the log pager in real Chromium against a small server: the real console handler, plus STUBBED
 * REST answers: the overview is the HAND-WRITTEN fixture of overview-fixture.ts (no sidecar route serves it yet; the
 * whole-sidecar test covers the "not available" state), and the log is 123,457 generated rows, more than a test
 * could deliver for real. The server checks the bearer token like the API.
 */

const TOKEN = 'overview-test-token';

describeWith(['chromium'], 'overview page in Chromium (hand-written overview fixture)', () => {
  let server: http.Server;
  let base: string;
  let browser: Browser;
  const fixture = overviewFixture();
  let overviewStatus = 200;
  const authorizations: (string | undefined)[] = [];
  /** Stubbed log pages: LOG_TOTAL rows, generated from the page asked for. */
  const LOG_TOTAL = 123_457;
  const logRequests: string[] = [];

  beforeAll(async () => {
    const consoleHandler = createConsoleHandler();
    server = http.createServer((req, res) => {
      if (consoleHandler(req, res)) return;
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      authorizations.push(req.headers.authorization);
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: "The consumer isn't authorized to access %resources.", parameters: { resources: 'MageOS_AsyncEvents::manage' } });
      if (req.url === '/rest/V1/async_events/sinks') return send(200, [{ key: 'http', usable: true }]);
      if (req.url?.startsWith('/rest/V1/async_events/logs?')) {
        logRequests.push(req.url);
        const params = new URL(req.url, 'http://x').searchParams;
        const size = Number(params.get('pageSize'));
        const current = Number(params.get('currentPage'));
        const items = Array.from({ length: Math.max(0, Math.min(size, LOG_TOTAL - (current - 1) * size)) }, (_, i) => {
          const logId = LOG_TOTAL - ((current - 1) * size + i);
          return { log_id: logId, uuid: `0b6c3f1e-6d5a-4a8e-9a57-${String(logId).padStart(12, '0')}`, event_name: 'sales.order.created', success: logId % 7 !== 0, created: '2026-11-27 14:00:00', subscription_id: 1, recipient_url: 'https://crm.example.com/magento', response_data: '{"ok":true}' };
        });
        return send(200, { items, total_count: LOG_TOTAL, page_size: size, current_page: current });
      }
      if (req.url === '/rest/V1/async_events/overview') {
        return overviewStatus === 200 ? send(200, fixture) : send(overviewStatus, { message: 'The database did not answer.' });
      }
      return send(404, { message: 'Request does not match any route.' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('draws the last hour as charts and shows queue depth, dead letters, slowest and failing subscriptions and every service', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/#/overview`);
    await page.getByLabel('API token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Deliveries per minute' }).waitFor();

    const delivered = fixture.perMinute.reduce((n, p) => n + p.delivered, 0);
    const failed = fixture.perMinute.reduce((n, p) => n + p.failed, 0);
    const retried = fixture.perMinute.reduce((n, p) => n + p.retried, 0);
    const stat = (label: string) => page.locator('.stat', { hasText: label }).locator('.value').textContent();
    expect(await stat('Delivered, last hour')).toBe(delivered.toLocaleString('en'));
    expect(await stat('Retries, last hour')).toBe(String(retried));
    expect(await stat('Queue depth')).toBe('15');
    expect(await stat('Dead-lettered chains')).toBe('2');
    const rate = (failed / (delivered + failed)) * 100;
    expect(await stat('Failure rate')).toBe(`${rate < 10 ? rate.toFixed(1) : Math.round(rate)}%`);

    // One column group per minute; a minute with no attempts draws no bar.
    const deliveries = page.locator('figure', { hasText: 'Deliveries per minute' });
    expect(await deliveries.locator('svg > g').count()).toBe(60);
    const bars = fixture.perMinute.reduce((n, p) => n + (p.delivered > 0 ? 1 : 0) + (p.failed > 0 ? 1 : 0), 0);
    expect(await deliveries.locator('rect.fill-ok, rect.fill-bad').count()).toBe(bars);
    expect(await deliveries.locator('.x-axis').textContent()).toBe('14:0115:00');
    const burst = fixture.perMinute[42];
    expect(await deliveries.locator('svg > g').nth(42).locator('title').textContent()).toBe(`${burst?.minute.slice(11)}: ${burst?.delivered} delivered, ${burst?.failed} failed`);
    // The failure-rate line breaks over the quiet minutes: two path segments.
    const line = await page.locator('figure', { hasText: 'Failure rate' }).locator('path').getAttribute('d');
    expect(line?.match(/M/g)).toHaveLength(2);
    expect(await page.locator('figure', { hasText: 'Retries per minute' }).locator('rect.fill-warn').count()).toBe(fixture.perMinute.filter((p) => p.retried > 0).length);

    expect(await page.locator('section', { hasText: 'Slowest subscriptions' }).locator('tbody tr').allTextContents()).toEqual([
      '#4 https://erp.example.com/hooks/orders1.8 s',
      '#1 https://crm.example.com/magento420 ms',
    ]);
    expect(await page.locator('section', { hasText: 'Most failing subscriptions' }).locator('td[data-label="Failures"]').textContent()).toBe('51');
    expect(await page.getByRole('alert').textContent()).toBe('1 service down: queue');
    expect(await page.locator('ul.services li.down .detail').textContent()).toContain('ECONNREFUSED');

    const shots = await screenshots(page, 'overview');
    expect(shots.narrowOverflow).toBe(0);
    publishScreenshot(shots.wide, 'overview.png');
    expect(errors).toEqual([]);
    expect(authorizations.every((a) => a === `Bearer ${TOKEN}`)).toBe(true);

    // A failing overview is an error with a way to try again, not an empty page.
    overviewStatus = 503;
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('heading', { name: 'The overview could not be loaded' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('The database did not answer.');
    overviewStatus = 200;
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Deliveries per minute' }).waitFor();
    await page.context().close();
  });

  it('pages over a log of any size: last page, a typed page number and the page size go to the API', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/#/log`);
    await page.getByLabel('API token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tbody tr').first().waitFor();
    expect(await page.locator('.pager > span').textContent()).toBe('123,457 attempts · page 1 of 6,173');
    // Each step waits for the page it asked for: the previous table stays until the answer arrives.
    const pagerSays = (text: string) => page.locator('.pager > span', { hasText: text }).waitFor();
    await page.getByRole('button', { name: 'Last' }).click();
    await pagerSays('page 6,173 of 6,173');
    expect(logRequests.at(-1)).toBe('/rest/V1/async_events/logs?query=&pageSize=20&currentPage=6173');
    expect(await page.locator('tbody tr').count()).toBe(LOG_TOTAL % 20);
    await page.getByLabel('Page', { exact: true }).fill('4242');
    await page.getByRole('button', { name: 'Go' }).click();
    await pagerSays('page 4,242 of 6,173');
    expect(new URL(page.url()).hash).toBe('#/log?page=4242');
    expect(await page.locator('tbody tr').first().locator('td[data-label="Log ID"]').textContent()).toBe(String(LOG_TOTAL - 4241 * 20));
    await page.getByLabel('Rows', { exact: true }).selectOption('500');
    await pagerSays('123,457 attempts · page 1 of 247');
    expect(new URL(page.url()).hash).toBe('#/log?size=500');
    expect(logRequests.at(-1)).toBe('/rest/V1/async_events/logs?query=&pageSize=500&currentPage=1');
    expect(await page.locator('tbody tr').count()).toBe(500);
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
