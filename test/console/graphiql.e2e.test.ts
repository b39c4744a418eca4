import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { makeDeps, openTestStore, startGraphqlServer, type GraphqlServer } from '../graphql/harness.ts';
import { describeWith } from '../support/services.ts';
import { launchChromium, openPage } from './browser.ts';

/*
 * The GraphiQL page at /graphql must work on a server without internet: with every request that leaves
 * localhost aborted, Chromium still renders the IDE, and its strict CSP refuses nothing the page needs.
 */
describeWith(['chromium'], 'GraphiQL in Chromium with the network off', () => {
  let browser: Browser;
  let server: GraphqlServer;
  let closeStore: () => Promise<void>;

  beforeAll(async () => {
    const { store, close } = await openTestStore();
    closeStore = close;
    server = await startGraphqlServer(makeDeps(store).deps);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await closeStore?.();
  });

  it('renders the IDE from the npm package alone, under a CSP without unsafe-inline scripts', async () => {
    const { page, context, errors } = await openPage(browser);
    const leftLocalhost: string[] = [];
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === 'blob:' || url.protocol === 'data:' || url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
        await route.continue();
        return;
      }
      leftLocalhost.push(url.href);
      await route.abort('internetdisconnected');
    });
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    const policy = response?.headers()['content-security-policy'] ?? '';
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("frame-ancestors 'none'");
    await page.locator('.graphiql-container').first().waitFor({ state: 'visible', timeout: 20_000 });
    // The editor (Monaco, started from blob: workers) shows the example query: the IDE's scripts ran, not just its markup.
    await page.locator('.monaco-editor').first().waitFor({ state: 'visible', timeout: 20_000 });
    await expect.poll(() => page.locator('.monaco-editor').first().innerText(), { timeout: 20_000 }).toMatch(/query\s+RecentFailures/);
    expect(leftLocalhost).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await context.close();
  });
});
