import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.ts';
import { mountGraphqlAndConsole } from '../../src/api/mount-extras.ts';
import { describeWith } from '../support/services.ts';
import { API_TOKEN, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';
import { launchChromium, NARROW, openPage, publishScreenshot, screenshots, type ConsolePage } from './browser.ts';

/*
 * The web console driven in real headless Chromium against the whole sidecar: the example Magento root, the Magento
 * REST stand-in, SQLite, the database queue, both consumers, and two webhook receivers on 127.0.0.1 (one answers
 * 200, one always 500, so its chains dead-letter after 1 + max_deaths attempts). The tests run in order: each
 * step builds on what the previous one created, as a user would.
 */

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describeWith(['chromium'], 'web console in Chromium against the whole sidecar', () => {
  let sidecar: TestSidecar;
  let http: HttpServer;
  let endLiveFeeds: (() => void) | undefined;
  let okReceiver: Receiver;
  let failingReceiver: Receiver;
  let browser: Browser;
  let main: ConsolePage;
  let page: Page;
  let base: string;

  const url = (hash: string) => `${base}/#${hash}`;

  async function signIn(target: Page, token = API_TOKEN): Promise<void> {
    await target.getByLabel('API token', { exact: true }).fill(token);
    await target.getByRole('button', { name: 'Sign in' }).click();
  }

  async function heading(target: Page, name: string | RegExp): Promise<void> {
    await target.getByRole('heading', { level: 1, name }).waitFor();
  }

  /**
   * Waits until the log page shows the answer for `query`: its search box holds the query and the pager or empty
   * state is there. A hash change re-renders asynchronously, so the previous page's table must not be mistaken for it.
   */
  async function logShows(query: string): Promise<void> {
    await page.waitForFunction((q) => {
      const input = document.querySelector<HTMLInputElement>('input[name="q"]');
      return input?.value === q && document.querySelector('main .pager, main .empty') !== null;
    }, query);
  }

  async function flashText(target: Page): Promise<string> {
    const notice = target.locator('#flash .notice');
    await notice.waitFor();
    return (await notice.locator('span').first().textContent()) ?? '';
  }

  beforeAll(async () => {
    okReceiver = await startReceiver(() => ({ status: 200, body: '{"received":true}' }));
    failingReceiver = await startReceiver(() => ({ status: 500, body: '{"error":"receiver is down for maintenance"}' }));
    sidecar = await startSidecar({ mode: 'sqlite', maxDeaths: 1 });
    http = createHttpServer({ deps: sidecar.app.deps, port: 0, host: '127.0.0.1', metrics: sidecar.app.metrics });
    // The sidecar's own wiring of GraphQL and this console on the HTTP server (as `start` does).
    endLiveFeeds = mountGraphqlAndConsole(sidecar.app.deps, http);
    await http.listen();
    base = http.url;
    browser = await launchChromium();
    main = await openPage(browser);
    page = main.page;
  });

  afterAll(async () => {
    await browser?.close();
    endLiveFeeds?.();
    await http?.close();
    await sidecar?.close();
    await okReceiver?.close();
    await failingReceiver?.close();
  });

  it('shows nothing but the sign-in form without a token, refuses a wrong token, and signs in with the API token', async () => {
    const apiCalls: string[] = [];
    page.on('request', (request) => {
      if (/\/(rest|graphql)\b/.test(new URL(request.url()).pathname)) apiCalls.push(new URL(request.url()).pathname);
    });
    await page.goto(`${base}/`);
    await heading(page, 'Sign in to async-events');
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(apiCalls).toEqual([]);
    await screenshots(page, 'sign-in');

    await signIn(page, 'not-the-token');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('refused');
    expect(await page.evaluate(() => sessionStorage.getItem('async-events.token'))).toBeNull();

    await signIn(page);
    await heading(page, 'Overview');
    expect(await page.locator('#nav').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('async-events.token'))).toBe(API_TOKEN);
  });

  it('overview: charts from /overview when the sidecar serves it, else a clear "not available" state with the services', async () => {
    const overview = page.waitForResponse((r) => r.url().endsWith('/rest/V1/async_events/overview'));
    await page.goto(url('/overview'));
    const status = (await overview).status();
    if (status === 404) {
      await page.getByRole('heading', { name: 'Overview not available' }).waitFor();
    } else {
      // Nothing has been delivered yet: the stats show zero and the charts say there is nothing to draw.
      expect(status).toBe(200);
      expect(await page.locator('.stat', { hasText: 'Delivered, last hour' }).locator('.value').textContent()).toBe('0');
      await page.getByText('No deliveries in the last hour').waitFor();
    }
    const services = page.locator('ul.services li');
    await services.first().waitFor();
    const names = await page.locator('ul.services .name').allTextContents();
    expect(names).toEqual(expect.arrayContaining(['database', 'queue', 'search']));
    const database = page.locator('ul.services li').filter({ has: page.locator('.name', { hasText: /^database$/ }) });
    expect(await database.locator('.detail').textContent()).toBe('embedded SQLite');
    const shots = await screenshots(page, 'overview-live-sidecar');
    expect(shots.narrowOverflow).toBe(0);
  });

  it('says so when the delivery log is empty and when a trace does not exist', async () => {
    await page.goto(url('/log'));
    await page.getByText('The delivery log is empty').waitFor();
    await page.goto(url('/trace/0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a'));
    await page.getByRole('heading', { name: 'This asynchronous event trace no longer exists' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a');
    expect(await page.getByRole('button', { name: 'Replay' }).isDisabled()).toBe(true);
    await page.goto(url('/trace/not-a-uuid'));
    await page.getByRole('heading', { name: 'Not a delivery UUID' }).waitFor();
    await page.goto(url('/no/such/page'));
    await page.getByRole('heading', { name: 'No such page' }).waitFor();
  });

  it('subscriptions: empty state, field errors where they belong, then creates two subscriptions with write-only tokens', async () => {
    await page.goto(url('/subscriptions'));
    await page.getByText('No subscriptions yet').waitFor();
    await screenshots(page, 'subscriptions-empty');

    await page.getByRole('link', { name: 'New subscription' }).click();
    await heading(page, 'New subscription');
    // Nothing filled in: every missing field is named next to itself.
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByText('Choose the event to subscribe to.').first().waitFor();
    expect(await page.getByLabel('Event', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Recipient', { exact: true }).getAttribute('aria-invalid')).toBe('true');

    // A recipient the http sink cannot use: the API's field error lands on the Recipient field.
    await page.getByLabel('Event', { exact: true }).selectOption('sales.order.created');
    await page.getByLabel('Recipient', { exact: true }).fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('button', { name: 'Create subscription' }).click();
    const recipientError = page.locator('[data-field="recipient_url"] .error-text');
    await recipientError.waitFor();
    expect(await recipientError.textContent()).toContain('is not an absolute http:// or https:// URL');
    await screenshots(page, 'subscription-form-error');

    await page.getByLabel('Recipient', { exact: true }).fill(okReceiver.url);
    const token = await page.getByLabel('Verification token', { exact: true }).inputValue();
    expect(token.length).toBeGreaterThanOrEqual(24);
    await page.getByRole('button', { name: 'Create subscription' }).click();
    expect(await flashText(page)).toMatch(/^Subscription \d+ created for sales\.order\.created\.$/);
    await page.locator('tbody tr').first().waitFor();

    const created = (await sidecar.app.store.subscriptions.list()).items;
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ eventName: 'sales.order.created', recipientUrl: okReceiver.url, verificationToken: token, metadata: 'http', active: true, storeId: 0 });
    expect(await page.content()).not.toContain(token);

    await page.getByRole('link', { name: 'New subscription' }).click();
    await heading(page, 'New subscription');
    await page.getByLabel('Event', { exact: true }).selectOption('customer.created');
    await page.getByLabel('Recipient', { exact: true }).fill(failingReceiver.url);
    await page.getByLabel('Verification token', { exact: true }).fill('failing-receiver-token');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    expect(await flashText(page)).toContain('created for customer.created');

    const rows = page.locator('tbody tr');
    await waitFor('two subscription rows', async () => (await rows.count()) === 2);
    // Sink comes from GraphQL (REST never returns metadata), store and status from REST.
    const first = rows.nth(0);
    expect(await first.locator('td[data-label="Sink"]').textContent()).toBe('http');
    expect(await first.locator('td[data-label="Status"]').textContent()).toBe('Enabled');
    expect(await first.locator('td[data-label="Store"]').textContent()).toBe('All stores (0)');
    expect(await first.locator('td[data-label="Recipient"]').textContent()).toBe(okReceiver.url);
    const shots = await screenshots(page, 'subscriptions');
    expect(shots.narrowOverflow).toBe(0);

    // Editing never shows the token back, and leaving it empty keeps it.
    const id = created[0]?.id ?? 0;
    await page.getByRole('link', { name: `Edit subscription ${id}` }).click();
    await heading(page, `Edit subscription ${id}`);
    await page.getByLabel('Recipient', { exact: true }).waitFor();
    expect(await page.getByLabel('Verification token', { exact: true }).inputValue()).toBe('');
    expect(await page.getByLabel('Recipient', { exact: true }).inputValue()).toBe(okReceiver.url);
    expect(await page.getByLabel('Sink', { exact: true }).inputValue()).toBe('http');
    await screenshots(page, 'subscription-edit');
    await page.getByRole('button', { name: 'Save changes' }).click();
    expect(await flashText(page)).toBe(`Subscription ${id} saved.`);
    expect((await sidecar.app.store.subscriptions.get(id))?.verificationToken).toBe(token);
  });

  it('publishes a test event: it is delivered, signed, and appears in the live feed of another tab without reload', async () => {
    const live = await openPage(browser);
    try {
      await live.page.goto(url('/live'));
      await signIn(live.page);
      await heading(live.page, 'Live');
      await live.page.getByText('Connected').waitFor();

      await page.goto(url('/subscriptions'));
      const subscription = (await sidecar.app.store.subscriptions.list()).items.find((s) => s.eventName === 'sales.order.created');
      await page.getByRole('button', { name: `Send a test event to subscription ${subscription?.id}` }).click();
      const dialog = page.getByRole('dialog', { name: 'Send a test event' });
      await dialog.waitFor();
      expect(await dialog.getByLabel('Event', { exact: true }).inputValue()).toBe('sales.order.created');
      // Pre-filled from each event's REST route (GET /V1/orders/:id, GET /V1/customers/:customerId), following the
      // chosen event until the user edits it.
      const argumentsField = dialog.getByLabel('Service arguments (JSON object)', { exact: true });
      expect(JSON.parse(await argumentsField.inputValue())).toEqual({ id: 1 });
      await dialog.getByLabel('Event', { exact: true }).selectOption('customer.created');
      expect(JSON.parse(await argumentsField.inputValue())).toEqual({ customerId: 1 });
      expect(await dialog.locator('.hint').textContent()).toContain('(customerId)');
      await dialog.getByLabel('Event', { exact: true }).selectOption('sales.order.created');
      expect(JSON.parse(await argumentsField.inputValue())).toEqual({ id: 1 });
      await argumentsField.fill('{"id": 1');
      await dialog.getByRole('button', { name: 'Publish' }).click();
      expect(await dialog.getByRole('alert').textContent()).toContain('not valid JSON');
      await screenshots(page, 'publish-dialog');
      await dialog.getByLabel('Service arguments (JSON object)', { exact: true }).fill('{"id": 1}');
      await dialog.getByRole('button', { name: 'Publish' }).click();
      expect(await flashText(page)).toContain('Published sales.order.created for store 0');

      const row = live.page.locator('tbody tr', { hasText: 'sales.order.created' });
      await row.waitFor({ timeout: 15_000 });
      expect(await row.locator('td[data-label="Result"]').textContent()).toBe('Success');
      expect(await row.locator('td[data-label="Chain"]').textContent()).toContain('Delivered');
      await screenshots(live.page, 'live');
      expect(live.errors).toEqual([]);

      expect(okReceiver.requests).toHaveLength(1);
      const body = JSON.parse(okReceiver.requests[0]?.body ?? '{}') as { type?: string; id?: string };
      expect(body.type).toBe('sales.order.created');
      expect(await row.getAttribute('data-uuid')).toBe(body.id);

      // Filtered to one event, the feed subscribes again with that event as the GraphQL argument.
      const resubscribed = live.page.waitForRequest((r) => r.url().endsWith('/graphql') && (r.postData() ?? '').includes('"variables":{"eventName":"customer.created"}'));
      await live.page.getByRole('combobox', { name: 'Event' }).selectOption('customer.created');
      await resubscribed;
      await live.page.waitForURL(/event=customer\.created/);
      await live.page.getByText('Connected').waitFor();
    } finally {
      await live.context.close();
    }
  });

  it('delivery log: searches event_name: sales.*, shows the attempt, and opens its trace; Replay adds an attempt under the same UUID', async () => {
    await page.goto(url('/log'));
    await heading(page, 'Delivery log');
    await page.getByLabel('Lucene query', { exact: true }).fill('event_name: sales.*');
    await page.getByLabel('Lucene query', { exact: true }).press('Enter');
    await page.waitForURL((u) => new URLSearchParams(u.hash.split('?')[1] ?? '').get('q') === 'event_name: sales.*');
    await logShows('event_name: sales.*');
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().locator('td[data-label="Event"]').textContent()).toBe('sales.order.created');
    expect(await rows.first().locator('td[data-label="Result"]').textContent()).toBe('Success');
    expect(await page.locator('.pager').textContent()).toContain('1 attempt');
    const shots = await screenshots(page, 'delivery-log');
    expect(shots.narrowOverflow).toBe(0);

    const uuid = (await sidecar.app.store.log.rows({ limit: 10 })).find((r) => r.eventName === 'sales.order.created')?.uuid ?? '';
    await rows.first().getByRole('link', { name: `Trace ${uuid}` }).click();
    await heading(page, 'Trace');
    const status = page.locator('.trace-status');
    await status.waitFor();
    expect(await status.textContent()).toBe('Delivered with 0 retries');
    expect(await page.locator('section', { hasText: 'Attempts' }).locator('tbody tr').count()).toBe(1);
    expect(await page.locator('pre.payload').textContent()).toContain('"type": "sales.order.created"');
    expect(await page.locator('.facts').first().textContent()).toContain('First attempt');
    const trace = await screenshots(page, 'trace-delivered');
    expect(trace.narrowOverflow).toBe(0);
    publishScreenshot(trace.wide, 'trace.png');

    await page.getByRole('button', { name: 'Replay' }).click();
    expect(await flashText(page)).toContain('Replay started');
    await waitFor('the replayed attempt on the trace page', async () => (await page.locator('section', { hasText: 'Attempts' }).locator('tbody tr').count()) === 2, 10_000);
    expect(okReceiver.requests).toHaveLength(2);
    expect(JSON.parse(okReceiver.requests[1]?.body ?? '{}')).toMatchObject({ id: uuid });
  });

  it('exports the current search as CSV through a Blob download carrying the bearer token', async () => {
    await page.goto(url('/log?q=event_name%3A%20sales.*'));
    await logShows('event_name: sales.*');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const lines = readFileSync(file, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('log_id,uuid,event_name,success,created,subscription_id,recipient_url,response_data,sink');
    expect(lines.slice(1)).toHaveLength(2);
    for (const line of lines.slice(1)) expect(line).toContain(',sales.order.created,1,');
    expect(await flashText(page)).toContain('Exported');
  });

  it('shows a chain that failed every attempt as Dead Lettered with its retries', async () => {
    await page.goto(url('/subscriptions'));
    const subscription = (await sidecar.app.store.subscriptions.list()).items.find((s) => s.eventName === 'customer.created');
    await page.getByRole('button', { name: `Send a test event to subscription ${subscription?.id}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a test event' });
    // Published as pre-filled: the real argument name of CustomerRepositoryInterface::getById.
    expect(JSON.parse(await dialog.getByLabel('Service arguments (JSON object)', { exact: true }).inputValue())).toEqual({ customerId: 1 });
    await dialog.getByRole('button', { name: 'Publish' }).click();
    expect(await flashText(page)).toContain('Published customer.created');
    // max_deaths 1: the first attempt and one retry after 1 s, then the dead letter.
    const chain = await waitFor('the dead-lettered chain', async () => {
      const chains = await sidecar.app.store.log.chains({ status: 'dead' });
      return chains[0];
    }, 15_000);

    await page.goto(url('/log?q=event_name%3A%20customer.created&filter=failed'));
    await logShows('event_name: customer.created');
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await page.getByRole('radio', { name: 'Failed' }).isChecked()).toBe(true);
    await screenshots(page, 'delivery-log-failed');
    await rows.first().getByRole('link', { name: `Trace ${chain.uuid}` }).click();
    await heading(page, 'Trace');
    await page.locator('.trace-status').waitFor();
    expect(await page.locator('.trace-status').textContent()).toBe('Dead Lettered with 1 retry');
    const attempts = page.locator('section', { hasText: 'Attempts' }).locator('tbody tr');
    expect(await attempts.count()).toBe(2);
    expect(await attempts.first().locator('td[data-label="Response"]').textContent()).toContain('receiver is down for maintenance');
    await screenshots(page, 'trace-dead-lettered');
  });

  it('marks the position of a Lucene syntax error in the query and names it', async () => {
    await page.goto(url('/log'));
    await page.getByLabel('Lucene query', { exact: true }).fill('event_name: sales.* AND (success: true');
    await page.getByRole('button', { name: 'Search' }).click();
    const error = page.locator('.query-error');
    await error.waitFor();
    const text = (await error.textContent()) ?? '';
    expect(text).toContain('The query cannot be read');
    const column = Number(/at column (\d+)/.exec(text)?.[1] ?? /at position (\d+)/.exec(text)?.[1]);
    expect(column).toBeGreaterThan(0);
    expect(await error.locator('mark').count()).toBe(1);
    expect(await page.getByLabel('Lucene query', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('tbody tr').count()).toBe(0);
    await screenshots(page, 'delivery-log-query-error');

    // The same error through a filter (the query is wrapped in parentheses): the mark stays on the user's text.
    await page.getByRole('radio', { name: 'Failed' }).check();
    await page.waitForURL(/filter=failed/);
    await error.waitFor();
    const wrapped = (await page.locator('.query-error').textContent()) ?? '';
    expect(Number(/at column (\d+)/.exec(wrapped)?.[1])).toBe(column);
  });

  it('an example is one click away, and bulk replay replays every chain the query matches', async () => {
    await page.goto(url('/log'));
    await page.getByRole('button', { name: '*.created', exact: true }).click();
    await logShows('*.created');
    expect(await page.locator('.pager').textContent()).toMatch(/^4 attempts/);

    await page.goto(url('/log?q=success%3Afalse'));
    await logShows('success:false');
    page.once('dialog', (dialog) => void dialog.accept());
    const before = failingReceiver.requests.length;
    await page.getByRole('button', { name: /^Replay matches/ }).click();
    expect(await flashText(page)).toBe('Replayed 1 chain.');
    await waitFor('the replayed delivery', () => failingReceiver.requests.length > before);
  });

  it('disables, enables and deletes a subscription', async () => {
    await page.goto(url('/subscriptions'));
    const subscription = (await sidecar.app.store.subscriptions.list()).items.find((s) => s.eventName === 'customer.created');
    const id = subscription?.id ?? 0;
    await page.getByRole('button', { name: `Disable subscription ${id}` }).click();
    expect(await flashText(page)).toBe(`Subscription ${id} disabled.`);
    await page.getByRole('button', { name: `Enable subscription ${id}` }).waitFor();
    expect((await sidecar.app.store.subscriptions.get(id))?.active).toBe(false);

    // Filters go to the API as searchCriteria filter groups.
    await page.getByRole('combobox', { name: 'Status' }).selectOption('0');
    await page.waitForURL(/status=0/);
    await waitFor('only the disabled subscription', async () => (await page.locator('tbody tr').count()) === 1 && (await page.locator('tbody td[data-label="ID"]').textContent()) === String(id));
    await page.getByRole('combobox', { name: 'Event' }).selectOption('sales.order.created');
    await page.getByText('No subscription matches these filters').waitFor();
    await page.getByRole('link', { name: 'Clear filters' }).first().click();
    await waitFor('both subscriptions again', async () => (await page.locator('tbody tr').count()) === 2);

    await page.getByRole('button', { name: `Enable subscription ${id}` }).click();
    await page.getByRole('button', { name: `Disable subscription ${id}` }).waitFor();
    expect((await sidecar.app.store.subscriptions.get(id))?.active).toBe(true);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: `Delete subscription ${id}` }).click();
    // The notice of the enable above may still show until the delete's replaces it.
    await waitFor('the delete notice', async () => (await flashText(page)) === `Subscription ${id} deleted.`);
    await waitFor('the row to go', async () => (await page.locator('tbody tr').count()) === 1);
    expect(await sidecar.app.store.subscriptions.get(id)).toBeUndefined();
  });

  it('is keyboard reachable: after navigation focus is on the heading, Tab reaches the page, Shift+Tab the menu and skip link', async () => {
    await page.goto(url('/log'));
    await heading(page, 'Delivery log');
    const focused = () => page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim().slice(0, 30) || el.getAttribute('aria-label') || el.id}` : 'none';
    });
    expect(await focused()).toBe('h1:Delivery log');
    const forward: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      await page.keyboard.press('Tab');
      forward.push(await focused());
    }
    expect(forward).toEqual(expect.arrayContaining(['button:Export CSV', 'button:Search', 'button:event_name: customer.*', 'button:*.created']));
    expect(forward.some((stop) => stop.startsWith('input:'))).toBe(true);
    await page.getByRole('heading', { level: 1 }).focus();
    const backward: string[] = [];
    // Up to the skip link: a notice left by an earlier step adds its Dismiss button to the way back.
    for (let i = 0; i < 12 && backward.at(-1) !== 'a:Skip to content'; i += 1) {
      await page.keyboard.press('Shift+Tab');
      backward.push(await focused());
    }
    expect(backward).toEqual(expect.arrayContaining(['button:Sign out', 'a:Live', 'a:Delivery log', 'a:Subscriptions', 'a:Overview', 'a:Skip to content']));
    for (const stop of [...forward, ...backward]) expect(stop).toMatch(/^(a|button|input|select|textarea):/);
    // Focus is visible: the focused control gets the outline of :focus-visible.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle)).toBe('solid');
  });

  it('a token the sidecar stops accepting sends the console back to sign-in with a message', async () => {
    await page.goto(url('/overview'));
    await heading(page, 'Overview');
    await page.evaluate(() => sessionStorage.setItem('async-events.token', 'revoked-token'));
    await page.goto(url('/subscriptions'));
    await heading(page, 'Sign in to async-events');
    expect(await page.getByRole('alert').textContent()).toContain('Sign in again');
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('async-events.token'))).toBeNull();
    await page.setViewportSize({ width: NARROW, height: 844 });
    await signIn(page);
    await heading(page, 'Subscriptions');
    expect(main.errors).toEqual([]);
  });
});
