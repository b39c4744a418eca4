import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { loadWebapiRoutes, parseWebapiXml, type ModuleDir } from '../../src/magento/webapi-routes.ts';
import { fixtureModules } from './fixture-modules.ts';

describe('webapi.xml routes of the real Magento fixtures', async () => {
  const index = await loadWebapiRoutes(await fixtureModules());

  it.each([
    ['Magento\\Sales\\Api\\OrderRepositoryInterface', 'get', '/V1/orders/:id', [':id'], ['Magento_Sales::actions_view']],
    ['Magento\\Sales\\Api\\InvoiceRepositoryInterface', 'get', '/V1/invoices/:id', [':id'], ['Magento_Sales::sales_invoice']],
    ['Magento\\Sales\\Api\\ShipmentRepositoryInterface', 'get', '/V1/shipment/:id', [':id'], ['Magento_Sales::shipment']],
    ['Magento\\Customer\\Api\\CustomerRepositoryInterface', 'getById', '/V1/customers/:customerId', [':customerId'], ['Magento_Customer::customer']],
    ['Magento\\Catalog\\Api\\ProductRepositoryInterface', 'get', '/V1/products/:sku', [':sku'], ['Magento_Catalog::products']],
    ['Magento\\Sales\\Api\\OrderRepositoryInterface', 'getList', '/V1/orders', [], ['Magento_Sales::actions_view']],
  ])('%s::%s → GET %s', (serviceClass, method, url, params, resources) => {
    const route = index.preferred(serviceClass, method);
    expect(route).toMatchObject({ httpMethod: 'GET', url, params, resources, module: expect.stringMatching(/^Magento_/) });
    expect(route?.file).toMatch(/etc\/webapi\.xml$/);
  });

  it('prefers the integration route over /V1/customers/me with its forced %customer_id%', () => {
    const routes = index.routesFor('Magento\\Customer\\Api\\CustomerRepositoryInterface', 'getById');
    expect(routes.map((r) => r.url)).toEqual(['/V1/customers/:customerId', '/V1/customers/me']);
    expect(routes[1]).toMatchObject({ resources: ['self'], parameters: [{ name: 'customerId', value: '%customer_id%', force: true }] });
  });

  it('looks services up case-insensitively and with a leading backslash', () => {
    expect(index.preferred('\\magento\\sales\\api\\orderRepositoryInterface', 'GET')?.url).toBe('/V1/orders/:id');
    expect(index.preferred('Magento\\Sales\\Api\\NoSuchInterface', 'get')).toBeUndefined();
  });

  it('indexes every declared route', () => {
    // 79 + 4 + 12 + 41 + 63 + 45 + 4 <route> elements in the fixture files, all with distinct method + URL.
    expect(index.all()).toHaveLength(248);
  });
});

describe('merging and bad files', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  async function module(name: string, xml: string | undefined): Promise<ModuleDir> {
    const dir = await mkdtemp(path.join(tmpdir(), 'ae-webapi-'));
    dirs.push(dir);
    if (xml !== undefined) {
      await mkdir(path.join(dir, 'etc'));
      await writeFile(path.join(dir, 'etc', 'webapi.xml'), xml);
    }
    return { name, dir };
  }
  const route = (url: string, cls: string, method: string, extra = '') =>
    `<route url="${url}" method="GET"><service class="${cls}" method="${method}"/><resources><resource ref="A::b"/></resources>${extra}</route>`;

  it('lets a later module replace a route with the same method and URL, and skips modules without webapi.xml', async () => {
    const index = await loadWebapiRoutes([
      await module('A_First', `<routes>${route('/V1/things/:id', 'A\\Api\\Thing', 'get')}</routes>`),
      await module('B_None', undefined),
      await module('C_Second', `<routes>${route('/V1/things/:id', 'C\\Api\\Thing', 'get', '<data><parameter name="x">1</parameter></data>')}</routes>`),
    ]);
    expect(index.preferred('A\\Api\\Thing', 'get')).toBeUndefined();
    expect(index.preferred('C\\Api\\Thing', 'get')).toMatchObject({ module: 'C_Second', parameters: [{ name: 'x', value: '1', force: false }] });
  });

  it('names file and line of malformed XML', async () => {
    const dir = await module('Bad_Xml', '<routes>\n<route url="/V1/x" method="GET">\n</routes>');
    try {
      await loadWebapiRoutes([dir]);
      expect.unreachable();
    } catch (error) {
      expect(isAsyncEventsError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/webapi\.xml:3:\d+ /);
    }
  });

  it('names the route with a bad method or service', () => {
    expect(() => parseWebapiXml('<routes><route url="/V1/x" method="PATCH"><service class="X" method="y"/></route></routes>', 'f.xml', 'M')).toThrow(
      /f\.xml: route #1 \(\/V1\/x\): method must be one of GET, POST, PUT, DELETE, got "PATCH"/,
    );
    expect(() => parseWebapiXml('<routes><route url="/V1/x" method="GET"></route></routes>', 'f.xml', 'M')).toThrow(/<service> needs class and method/);
  });
});
