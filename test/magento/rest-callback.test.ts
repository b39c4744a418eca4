import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError, type AsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import type { MagentoCallback } from '../../src/magento/callback.ts';
import { MagentoCallbackError } from '../../src/magento/callback-error.ts';
import { buildRestRequest, createRestCallback, magentoMessage, phpQueryString } from '../../src/magento/rest-callback.ts';
import { loadWebapiRoutes, type WebapiRouteIndex } from '../../src/magento/webapi-routes.ts';
import type { EventDefinition } from '../../src/types.ts';
import { fixtureModules } from './fixture-modules.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Bytes as PHP json_encode writes them, with details a re-serialisation would lose (`\/`, `\u00e9`, `1.0e+20`, spacing-free order). */
const ORDER_JSON = '{"entity_id":5,"increment_id":"000000005","customer_email":"a\\/b@example.com","customer_firstname":"Ren\\u00e9e \\ud83d\\ude00","grand_total":1.0e+20,"items":[],"extension_attributes":{"z":1,"a":2}}';

const event = (serviceClass: string, serviceMethod: string, name = 'test.event'): EventDefinition => ({
  name, serviceClass, serviceMethod, resources: [], source: { file: 'app/code/V/M/etc/async_events.xml', line: 3 }, module: 'V_M',
});
const ORDER = event('Magento\\Sales\\Api\\OrderRepositoryInterface', 'get', 'sales.order.created');

describe('REST callback against a stand-in Magento', () => {
  let server: http.Server;
  let baseUrl = '';
  let routes: WebapiRouteIndex;
  const seen: Seen[] = [];
  let storeViewsStatus = 200;
  const callbacks: MagentoCallback[] = [];

  beforeAll(async () => {
    routes = await loadWebapiRoutes(await fixtureModules());
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const url = req.url ?? '';
        seen.push({ method: req.method ?? '', url, headers: req.headers, body });
        const json = (status: number, text: string) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(text);
        if (req.headers.authorization !== 'Bearer integration-token') return json(401, '{"message":"The consumer isn\'t authorized to access %resources.","parameters":{"resources":"Magento_Sales::actions_view"}}');
        if (url === '/shop/rest/all/V1/store/storeViews') {
          return storeViewsStatus === 200
            ? json(200, '[{"id":0,"code":"admin"},{"id":1,"code":"default"},{"id":2,"code":"fr"}]')
            : json(storeViewsStatus, '{"message":"The consumer isn\'t authorized to access %resources.","parameters":{"resources":"Magento_Backend::store"}}');
        }
        if (/^\/shop\/rest\/\w+\/V1\/orders\/5$/.test(url)) return json(200, ORDER_JSON);
        if (url.endsWith('/V1/orders/999')) return json(404, '{"message":"No such entity with %fieldName = %fieldValue","parameters":{"fieldName":"id","fieldValue":"999"}}');
        if (url.endsWith('/V1/orders/500')) return json(500, '{"message":"Internal Error. Details are available in Magento log file. Report ID: webapi-6f1"}');
        if (url.endsWith('/V1/orders/777')) return; // never answers
        const status = /\/V1\/orders\/status-(\d{3})$/.exec(url);
        if (status) return json(Number(status[1]), '{"message":"scripted answer"}');
        if (url.endsWith('/V1/orders/reset')) return req.socket.destroy();
        return json(200, '{"echo":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/shop/`;
  });
  afterAll(async () => {
    await Promise.all(callbacks.map((c) => c.close()));
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function callback(extra: Partial<Parameters<typeof createRestCallback>[0]> = {}): MagentoCallback {
    const created = createRestCallback({ baseUrl, token: 'integration-token', routes, logger: silentLogger(), ...extra });
    callbacks.push(created);
    return created;
  }

  it('returns the body bytes verbatim, with the bearer token and the store code prefix', async () => {
    const data = await callback({ storeCodeFor: (id) => (id === 1 ? 'default' : 'x') }).fetchEventData(ORDER, { id: 5 }, 1);
    expect(data).toBe(ORDER_JSON);
    const last = seen.at(-1) as Seen;
    expect(last).toMatchObject({ method: 'GET', url: '/shop/rest/default/V1/orders/5', body: '' });
    expect(last.headers.authorization).toBe('Bearer integration-token');
    expect(last.headers['content-type']).toBeUndefined();
  });

  it('uses /rest/all for store 0 and the store view list for other stores (string ids too)', async () => {
    const cb = callback();
    await cb.fetchEventData(ORDER, { id: 5 }, 0);
    expect(seen.at(-1)?.url).toBe('/shop/rest/all/V1/orders/5');
    await cb.fetchEventData(ORDER, { id: 5 }, '2');
    expect(seen.at(-1)?.url).toBe('/shop/rest/fr/V1/orders/5');
    await cb.fetchEventData(ORDER, { id: 5 }, 1);
    expect(seen.at(-1)?.url).toBe('/shop/rest/default/V1/orders/5');
    expect(seen.filter((s) => s.url.endsWith('/store/storeViews'))).toHaveLength(1);
    await expect(cb.fetchEventData(ORDER, { id: 5 }, 'two')).rejects.toThrow(/store id "two" is not a non-negative integer/);
  });

  it('falls back to "default" for store 1 when the store list is forbidden, and explains other stores', async () => {
    storeViewsStatus = 403;
    try {
      const cb = callback();
      await cb.fetchEventData(ORDER, { id: 5 }, 1);
      expect(seen.at(-1)?.url).toBe('/shop/rest/default/V1/orders/5');
      await expect(cb.fetchEventData(ORDER, { id: 5 }, 2)).rejects.toThrow(/store 2.*Magento_Backend::store/);
    } finally {
      storeViewsStatus = 200;
    }
  });

  it('maps snake_case arguments onto camelCase path parameters', async () => {
    await callback().fetchEventData(event('Magento\\Customer\\Api\\CustomerRepositoryInterface', 'getById'), { customer_id: 7 }, 0);
    expect(seen.at(-1)?.url).toBe('/shop/rest/all/V1/customers/7');
  });

  it('puts the remaining arguments of a GET in the query string, encoding the path parameter', async () => {
    await callback().fetchEventData(event('Magento\\Catalog\\Api\\ProductRepositoryInterface', 'get'), { sku: 'MH01/XS ü', editMode: false, storeId: 1, forceReload: true }, 0);
    expect(seen.at(-1)?.url).toBe('/shop/rest/all/V1/products/MH01%2FXS%20%C3%BC?editMode=0&storeId=1&forceReload=1');
  });

  it('writes nested arguments as a PHP bracket query', async () => {
    const searchCriteria = { filter_groups: [{ filters: [{ field: 'increment_id', value: '000000003', condition_type: 'eq' }] }], pageSize: 20, currentPage: 1 };
    await callback().fetchEventData(event('Magento\\Sales\\Api\\OrderRepositoryInterface', 'getList'), { searchCriteria }, 0);
    expect(decodeURI(seen.at(-1)?.url ?? '')).toBe(
      '/shop/rest/all/V1/orders?searchCriteria[filter_groups][0][filters][0][field]=increment_id&searchCriteria[filter_groups][0][filters][0][value]=000000003' +
        '&searchCriteria[filter_groups][0][filters][0][condition_type]=eq&searchCriteria[pageSize]=20&searchCriteria[currentPage]=1',
    );
  });

  it('sends the remaining arguments of a POST as a JSON body', async () => {
    const statusHistory = { comment: 'Paid/OK é', is_customer_notified: 0 };
    await callback().fetchEventData(event('Magento\\Sales\\Api\\OrderManagementInterface', 'addComment'), { id: 9, statusHistory }, 0);
    const last = seen.at(-1) as Seen;
    expect(last).toMatchObject({ method: 'POST', url: '/shop/rest/all/V1/orders/9/comments' });
    expect(last.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(last.body)).toEqual({ statusHistory });
  });

  it('names the service and the fix when it has no route', async () => {
    const error = await callback().fetchEventData(event('Vendor\\Module\\Api\\ThingInterface', 'load', 'vendor.thing'), { id: 1 }, 0).catch((e: unknown) => e);
    expect(isAsyncEventsError(error, 'CALLBACK_NO_ROUTE')).toBe(true);
    expect((error as Error).message).toMatch(/Vendor\\Module\\Api\\ThingInterface::load \(event vendor\.thing\).*async-events generate/);
  });

  it('explains arguments that fill no route', async () => {
    await expect(callback().fetchEventData(ORDER, { orderId: 5 }, 0)).rejects.toThrow(/fill no REST route.*GET \/V1\/orders\/:id needs "id"/);
  });

  it('reports Magento errors with status and message', async () => {
    const notFound = (await callback().fetchEventData(ORDER, { id: 999 }, 0).catch((e: unknown) => e)) as AsyncEventsError;
    expect(notFound.code).toBe('CALLBACK_FAILED');
    expect(notFound.message).toBe('Magento answered HTTP 404 to GET /shop/rest/all/V1/orders/999 for Magento\\Sales\\Api\\OrderRepositoryInterface::get (event sales.order.created): No such entity with id = 999');
    expect(notFound).toBeInstanceOf(MagentoCallbackError);
    expect(notFound).toMatchObject({ fault: 'permanent', retryable: false, details: { status: 404 } });
    const serverError = (await callback().fetchEventData(ORDER, { id: 500 }, 0).catch((e: unknown) => e)) as AsyncEventsError;
    expect(serverError).toMatchObject({ fault: 'outage', retryable: true, details: { status: 500 } });
    const unauthorized = (await callback({ token: 'wrong' }).fetchEventData(ORDER, { id: 5 }, 0).catch((e: unknown) => e)) as AsyncEventsError;
    expect(unauthorized.message).toMatch(/HTTP 401 .*isn't authorized to access Magento_Sales::actions_view/);
    expect(unauthorized).toMatchObject({ fault: 'credentials', retryable: true });
  });

  it('holds outages and refused credentials, parks only permanent answers', async () => {
    const faultOf = async (id: string) => {
      const error = await callback().fetchEventData(ORDER, { id }, 0).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MagentoCallbackError);
      const { fault, retryable } = error as MagentoCallbackError;
      return { fault, retryable };
    };
    for (const status of [408, 429, 500, 502, 503, 504]) expect(await faultOf(`status-${status}`)).toEqual({ fault: 'outage', retryable: true });
    for (const status of [401, 403]) expect(await faultOf(`status-${status}`)).toEqual({ fault: 'credentials', retryable: true });
    for (const status of [400, 404, 405, 422]) expect(await faultOf(`status-${status}`)).toEqual({ fault: 'permanent', retryable: false });
    expect(await faultOf('reset')).toEqual({ fault: 'outage', retryable: true });
  });

  it('aborts a hanging call when its signal aborts, as a shutdown and not as a Magento fault', async () => {
    const controller = new AbortController();
    const pending = callback().fetchEventData(ORDER, { id: 777 }, 0, controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    const error = (await pending) as AsyncEventsError;
    expect(error).not.toBeInstanceOf(MagentoCallbackError);
    expect(error.code).toBe('SHUTTING_DOWN');
  });

  it('gives up after the timeout and on network errors, keeping the cause', async () => {
    const started = Date.now();
    const slow = (await callback({ timeoutMs: 300 }).fetchEventData(ORDER, { id: 777 }, 0).catch((e: unknown) => e)) as AsyncEventsError;
    expect(slow.code).toBe('CALLBACK_FAILED');
    expect(slow.message).toMatch(/no complete response within 300 ms/);
    expect(slow.cause).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(3000);
    const closed = createRestCallback({ baseUrl: 'http://127.0.0.1:1/', token: 't', routes, logger: silentLogger() });
    callbacks.push(closed);
    const refused = (await closed.fetchEventData(ORDER, { id: 5 }, 0).catch((e: unknown) => e)) as AsyncEventsError;
    expect(refused.code).toBe('CALLBACK_FAILED');
    expect(refused.message).toMatch(/ECONNREFUSED/);
    expect(refused).toMatchObject({ fault: 'outage', retryable: true });
  });
});

describe('request mapping helpers', () => {
  it('builds PHP-style queries', () => {
    expect(phpQueryString({ a: 'x y&z', b: null, c: [1, 2], d: { e: { f: true } } })).toBe('a=x%20y%26z&c[0]=1&c[1]=2&d[e][f]=1');
  });
  it('fills Magento message placeholders', () => {
    expect(magentoMessage('{"message":"%1 of %2","parameters":["a","b"]}')).toBe('a of b');
    expect(magentoMessage('<html>oops</html>')).toBe('<html>oops</html>');
    expect(magentoMessage('')).toBeUndefined();
  });
  it('falls back to the next route when the arguments do not fill the preferred one', async () => {
    const routes = await loadWebapiRoutes(await fixtureModules());
    const candidates = routes.routesFor('Magento\\Customer\\Api\\GroupManagementInterface', 'getDefaultGroup');
    expect(buildRestRequest(candidates, { storeId: 2 }, 'x').pathAndQuery).toBe('/V1/customerGroups/default/2');
    expect(buildRestRequest(candidates, {}, 'x').pathAndQuery).toBe('/V1/customerGroups/default');
  });
});
