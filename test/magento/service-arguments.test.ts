import { describe, expect, it } from 'vitest';
import { bridgeRouteUrl } from '../../src/bridge/routes.ts';
import { serviceArguments } from '../../src/magento/service-arguments.ts';
import { indexWebapiRoutes, loadWebapiRoutes } from '../../src/magento/webapi-routes.ts';
import { fixtureModules } from './fixture-modules.ts';

describe('service argument names from the REST routes of the real Magento fixtures', async () => {
  const magento = await loadWebapiRoutes(await fixtureModules());
  // As app.ts's loadRoutes adds it for a service without a route of its own: no path parameters.
  const routes = indexWebapiRoutes([
    ...magento.all(),
    {
      serviceClass: 'Acme\\CustomerEvents\\Api\\LoginActivityInterface',
      serviceMethod: 'getByCustomerId',
      httpMethod: 'GET',
      url: bridgeRouteUrl('customer.login'),
      params: [],
      resources: ['MageOS_AsyncEvents::manage'],
      parameters: [],
      secure: false,
      module: 'MageOS_AsyncEvents',
      file: '(generated bridge module)/etc/webapi.xml',
    },
  ]);

  it.each([
    // Not `/V1/customers/me` (self, forced %customer_id%): the route the callback prefers.
    ['Magento\\Customer\\Api\\CustomerRepositoryInterface', 'getById', ['customerId']],
    ['Magento\\Sales\\Api\\OrderRepositoryInterface', 'get', ['id']],
    ['Magento\\Catalog\\Api\\ProductRepositoryInterface', 'get', ['sku']],
    ['Magento\\Sales\\Api\\OrderRepositoryInterface', 'getList', []],
  ])('%s::%s → %j', (serviceClass, method, names) => {
    expect(serviceArguments(routes, serviceClass, method)).toEqual(names);
  });

  it('is unknown for a service without a route and for one reached only through the bridge route', () => {
    expect(serviceArguments(routes, 'Magento\\Sales\\Api\\NoSuchInterface', 'get')).toBeUndefined();
    expect(serviceArguments(routes, 'Acme\\CustomerEvents\\Api\\LoginActivityInterface', 'getByCustomerId')).toBeUndefined();
  });
});
