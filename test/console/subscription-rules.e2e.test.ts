import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.ts';
import { mountGraphqlAndConsole } from '../../src/api/mount-extras.ts';
import { describeWith } from '../support/services.ts';
import { API_TOKEN, startReceiver, startSidecar, type TestSidecar } from '../support/sidecar.ts';
import { launchChromium, openPage, screenshots, type ConsolePage } from './browser.ts';

/*
 * The subscription form edits every rule (issue 16) in real Chromium against the whole sidecar: an event pattern, a
 * filter, a fields selection, extra headers and max per second. The checks are the server's; each refusal lands
 * inline on the field it names (aria-invalid and the message under it, with the position of a syntax error).
 */

describeWith(['chromium'], 'subscription rules in the console form', () => {
  let sidecar: TestSidecar;
  let http: HttpServer;
  let endLiveFeeds: (() => void) | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let browser: Browser;
  let main: ConsolePage;
  let page: Page;

  beforeAll(async () => {
    receiver = await startReceiver();
    sidecar = await startSidecar({ mode: 'sqlite' });
    http = createHttpServer({ deps: sidecar.app.deps, port: 0, host: '127.0.0.1', metrics: sidecar.app.metrics });
    endLiveFeeds = mountGraphqlAndConsole(sidecar.app.deps, http);
    await http.listen();
    browser = await launchChromium();
    main = await openPage(browser);
    page = main.page;
    await page.goto(`${http.url}/`);
    await page.getByLabel('API token', { exact: true }).fill(API_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    endLiveFeeds?.();
    await http?.close();
    await sidecar?.close();
    await receiver?.close();
  });

  const control = (label: string) => page.getByLabel(label, { exact: true });
  const errorOf = (name: string) => page.locator(`[data-field="${name}"] .error-text`);
  const create = () => page.getByRole('button', { name: 'Create subscription' }).click();

  async function expectInvalid(label: string, name: string, text: string | RegExp): Promise<void> {
    await errorOf(name).waitFor();
    expect(await errorOf(name).textContent()).toMatch(text);
    expect(await control(label).getAttribute('aria-invalid')).toBe('true');
  }

  it('creates a pattern subscription with every rule, after showing each refusal on its own field', async () => {
    await page.goto(`${http.url}/#/subscriptions/new`);
    await page.getByRole('heading', { level: 1, name: 'New subscription' }).waitFor();
    await control('Event pattern').fill('catalog.*');
    await control('Recipient').fill(receiver.url);
    await page.getByRole('button', { name: 'Generate' }).click();

    // A pattern that matches no declared event is refused as an unknown name is, on the pattern field.
    await create();
    await expectInvalid('Event pattern', 'event_pattern', /matches no async event/);

    // A header line without a colon is caught before anything is sent.
    await control('Event pattern').fill('sales.order.*');
    await control('Extra headers').fill('X-Api-Key k-1');
    await create();
    await expectInvalid('Extra headers', 'headers', 'Line 1: write each header as Name: value.');

    // The rate's range is checked first (the request's shape)…
    await control('Extra headers').fill('X-Api-Key: k-1\nContent-Type: text/plain');
    await control('Filter').fill('data.status:(processing');
    await control('Fields').fill('entity_id,items[sku');
    await control('Max per second').fill('0');
    await create();
    await expectInvalid('Max per second', 'max_per_second', /positive number/);

    // …then every rule at once, each on its field, positions included.
    await control('Max per second').fill('20');
    await create();
    await expectInvalid('Filter', 'filter', /Unclosed "\(" at position 13/);
    await expectInvalid('Fields', 'fields', /position 20/);
    await expectInvalid('Extra headers', 'headers', /Content-Type.*set by the sidecar itself/);
    expect(await control('Max per second').getAttribute('aria-invalid')).toBeNull();
    await screenshots(page, 'subscription-form-rules-errors');
    expect(main.errors).toEqual([]);

    await control('Extra headers').fill('X-Api-Key: k-1\nX-Tenant: eu');
    await control('Filter').fill('data.status: processing AND data.grand_total:>100');
    await control('Fields').fill('entity_id,increment_id,items[sku,qty_ordered]');
    await control('Ordering').selectOption('entity');
    await create();
    await page.locator('#flash .notice').waitFor();
    expect(await page.locator('#flash .notice span').first().textContent()).toMatch(/created for sales\.order\.\*/);
    const [saved] = (await sidecar.app.store.subscriptions.list()).items;
    expect(saved).toMatchObject({
      eventName: 'sales.order.*',
      rules: { filter: 'data.status: processing AND data.grand_total:>100', fields: 'entity_id,increment_id,items[sku,qty_ordered]', headers: { 'X-Api-Key': 'k-1', 'X-Tenant': 'eu' }, maxPerSecond: 20, ordering: 'entity' },
    });
  });

  it('edits the rules: shows them, changes one, removes another, and refuses a bad one inline', async () => {
    const [saved] = (await sidecar.app.store.subscriptions.list()).items;
    const id = saved?.id ?? 0;
    await page.goto(`${http.url}/#/subscriptions/${id}/edit`);
    await page.getByRole('heading', { level: 1, name: `Edit subscription ${id}` }).waitFor();
    await control('Filter').waitFor();
    expect(await control('Filter').inputValue()).toBe('data.status: processing AND data.grand_total:>100');
    expect(await control('Fields').inputValue()).toBe('entity_id,increment_id,items[sku,qty_ordered]');
    expect(await control('Extra headers').inputValue()).toBe('X-Api-Key: k-1\nX-Tenant: eu');
    expect(await control('Max per second').inputValue()).toBe('20');
    expect(await control('Event').inputValue()).toBe('sales.order.*');
    // Ordering is fixed at creation: shown, not editable.
    expect(await control('Ordering').inputValue()).toBe('entity');
    expect(await control('Ordering').isDisabled()).toBe(true);

    await control('Filter').fill('success:true');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expectInvalid('Filter', 'filter', /Unknown field "success"/);

    await control('Filter').fill('');
    await control('Max per second').fill('2.5');
    await control('Extra headers').fill('X-Tenant: us');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('#flash .notice').waitFor();
    expect((await sidecar.app.store.subscriptions.get(id))?.rules).toEqual({ fields: 'entity_id,increment_id,items[sku,qty_ordered]', headers: { 'X-Tenant': 'us' }, maxPerSecond: 2.5, ordering: 'entity' });
    expect(main.errors).toEqual([]);
  });
});
