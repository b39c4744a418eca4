import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createConsoleHandler } from '../../src/console/handler.ts';
import { describeWith } from '../support/services.ts';
import { launchChromium, openPage } from './browser.ts';

/*
 * The console's own logic, run where it runs: its ES modules imported in real Chromium. The server is the console
 * handler plus a /graphql that answers a subscription with Server-Sent Events cut into awkward pieces (a line split
 * in two, CRLF line ends, comments, an unknown event), as proxies and slow networks deliver them.
 */

const TOKEN = 'modules-test-token';

/**
 * Runs `body` (the inside of an async function) in the page. It is passed as text because vitest rewrites
 * `import()` in test code, and the page must import the console's real modules itself.
 */
async function inPage<T>(page: Page, body: string): Promise<T> {
  return (await page.evaluate(`(async () => {\n${body}\n})()`)) as T;
}

describeWith(['chromium'], 'console modules in Chromium', () => {
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const consoleHandler = createConsoleHandler();
    server = http.createServer((req, res) => {
      if (consoleHandler(req, res)) return;
      if (req.url === '/graphql' && req.headers.accept === 'text/event-stream') {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ message: 'The bearer token is not valid', extensions: { code: 'UNAUTHENTICATED' } }] }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const pieces = [
          ':\n\n',
          'event: next\ndata: {"data":{"deliveryAttempts":{"logId":1,',
          '"uuid":"a"}}}\n',
          '\n',
          'event: next\r\ndata: {"data":{"deliveryAttempts":{"logId":2,"uuid":"b"}}}\r\n\r\n',
          'event: ping\ndata: {}\n\n',
          'event: next\ndata: {"data":{"deliveryAttempts":{"logId":3,"uuid":"c"}}}\n\nevent: complete\ndata:\n\n',
        ];
        let i = 0;
        const timer = setInterval(() => {
          const piece = pieces[i];
          i += 1;
          if (piece === undefined) {
            clearInterval(timer);
            res.end();
            return;
          }
          res.write(piece);
        }, 15);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Request does not match any route.' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = (await openPage(browser)).page;
    // The sign-in page: the modules are loaded, nothing else happens without a token.
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Sign in to async-events' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads a GraphQL subscription from SSE pieces split anywhere, skipping comments and unknown events', async () => {
    const result = await inPage<{ opened: boolean; seen: unknown[] }>(page, `
      sessionStorage.setItem('async-events.token', ${JSON.stringify(TOKEN)});
      const { subscribe } = await import('/console/js/sse.js');
      const seen = [];
      let opened = false;
      await subscribe('subscription { deliveryAttempts { logId uuid } }', {}, {
        onOpen: () => (opened = true),
        onNext: (data) => seen.push(data),
      });
      sessionStorage.removeItem('async-events.token');
      return { opened, seen };`);
    expect(result.opened).toBe(true);
    expect(result.seen).toEqual([
      { deliveryAttempts: { logId: 1, uuid: 'a' } },
      { deliveryAttempts: { logId: 2, uuid: 'b' } },
      { deliveryAttempts: { logId: 3, uuid: 'c' } },
    ]);
  });

  it('turns a refused subscription into an error with the server\'s message', async () => {
    const message = await inPage<string>(page, `
      sessionStorage.setItem('async-events.token', 'wrong');
      const { subscribe } = await import('/console/js/sse.js');
      try {
        await subscribe('subscription { deliveryAttempts { logId } }', {}, { onNext: () => undefined });
        return 'no error';
      } catch (error) {
        return error.status + ' ' + error.message;
      }`);
    expect(message).toBe('401 The bearer token is not valid');
    // The refusal signed the console out: the token is gone.
    expect(await page.evaluate(() => sessionStorage.getItem('async-events.token'))).toBeNull();
  });

  it('renders Magento messages with positional and named parameters', async () => {
    const rendered = await inPage<string[]>(page, `
      const { renderMessage } = await import('/console/js/api.js');
      return [
        renderMessage('Async event with subscription ID %1 does not exist', [7]),
        renderMessage('Invalid value of "%fieldName": %reason', { fieldName: 'asyncEvent.recipient_url', reason: 'must not be empty' }),
        renderMessage('%1 and %2, %missing', ['a', { b: 1 }]),
        renderMessage('no parameters', undefined),
      ];`);
    expect(rendered).toEqual([
      'Async event with subscription ID 7 does not exist',
      'Invalid value of "asyncEvent.recipient_url": must not be empty',
      'a and {"b":1}, %missing',
      'no parameters',
    ]);
  });

  it('combines the query with the Delivered/Failed filter and knows where the user\'s text starts', async () => {
    const cases = await inPage<unknown[]>(page, `
      const { effectiveQuery } = await import('/console/js/pages/log.js');
      return [effectiveQuery('  *.created', 'all'), effectiveQuery('', 'failed'), effectiveQuery('a OR b', 'success'), effectiveQuery('  x:(', 'failed')];`);
    expect(cases).toEqual([
      { query: '*.created', shift: -2 },
      { query: 'success:false', shift: 0 },
      { query: '(a OR b) AND success:true', shift: 1 },
      { query: '(x:() AND success:false', shift: -1 },
    ]);
  });

  it('names a trace the way upstream\'s trace page does: status with retries counted up to the first success', async () => {
    const statuses = await inPage<string[]>(page, `
      const { describeStatus } = await import('/console/js/pages/trace.js');
      const attempt = (logId, success) => ({ log_id: logId, success });
      return [
        describeStatus({ chain: { status: 'delivered' }, attempts: [attempt(3, true), attempt(1, false), attempt(2, false)] }),
        describeStatus({ chain: { status: 'dead' }, attempts: [attempt(1, false), attempt(2, false)] }),
        describeStatus({ chain: { status: 'retrying' }, attempts: [attempt(1, false)] }),
        // Rows written by the PHP module have no chain of ours: judged from the rows alone.
        describeStatus({ chain: null, attempts: [attempt(5, false), attempt(6, true), attempt(7, true)] }),
        describeStatus({ chain: null, attempts: [attempt(5, false)] }),
      ].map((s) => s.text);`);
    expect(statuses).toEqual(['Delivered with 2 retries', 'Dead Lettered with 1 retry', 'Retrying', 'Delivered with 1 retry', 'Dead Lettered with 0 retries']);
  });
});
