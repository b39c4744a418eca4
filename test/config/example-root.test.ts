import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { EXAMPLE_ROOT, FIXTURES } from './magento-fixture.ts';

/** The hand-written example root must hold files Magento itself would accept. */
describe('examples/magento', () => {
  const webapiDir = path.join(FIXTURES, 'magento/app/code/Magento/Webapi/etc');
  const modules = ['Store', 'Customer', 'Catalog', 'Sales'];

  it("has webapi.xml files valid against Magento's webapi.xsd", async () => {
    // Magento resolves the urn: through its own resolver; give xmllint the file by name instead.
    const schema = readFileSync(path.join(webapiDir, 'webapi.xsd'), 'utf8').replace('urn:magento:module:Magento_Webapi:etc/webapi_base.xsd', 'webapi_base.xsd');
    const result = await validateXML({
      xml: modules.map((module) => ({ fileName: `${module}.xml`, contents: readFileSync(path.join(EXAMPLE_ROOT, `app/code/Magento/${module}/etc/webapi.xml`), 'utf8') })),
      schema: [{ fileName: 'webapi.xsd', contents: schema }],
      preload: [{ fileName: 'webapi_base.xsd', contents: readFileSync(path.join(webapiDir, 'webapi_base.xsd'), 'utf8') }],
    });
    expect(result.errors.map((error) => error.rawMessage).filter((line) => line.trim() !== '' && !/ validates$/.test(line))).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('declares the routes the example events call back', () => {
    const routes = modules.flatMap((module) => {
      const xml = readFileSync(path.join(EXAMPLE_ROOT, `app/code/Magento/${module}/etc/webapi.xml`), 'utf8');
      return [...xml.matchAll(/<route url="([^"]+)" method="GET">\s*<service class="([^"]+)" method="([^"]+)"\/>/g)].map((match) => `${match[2]}::${match[3]} ${match[1]}`);
    });
    expect(routes).toEqual(
      expect.arrayContaining([
        'Magento\\Sales\\Api\\OrderRepositoryInterface::get /V1/orders/:id',
        'Magento\\Sales\\Api\\InvoiceRepositoryInterface::get /V1/invoices/:id',
        'Magento\\Sales\\Api\\ShipmentRepositoryInterface::get /V1/shipment/:id',
        'Magento\\Customer\\Api\\CustomerRepositoryInterface::getById /V1/customers/:customerId',
        'Magento\\Catalog\\Api\\ProductRepositoryInterface::get /V1/products/:sku',
      ]),
    );
    expect(routes.some((route) => route.includes('LoginActivityInterface'))).toBe(false);
  });

  it('has no env.php (the example runs on embedded defaults)', () => {
    expect(() => readFileSync(path.join(EXAMPLE_ROOT, 'app/etc/env.php'))).toThrow(/ENOENT/);
  });
});
