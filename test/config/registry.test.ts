import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readMagentoInstall } from '../../src/config/magento-root.ts';
import { loadEventRegistry } from '../../src/config/registry.ts';
import { silentLogger } from '../../src/logger.ts';
import { asyncEventsXml, EXAMPLE_ROOT, makeTempRoot, type TempRoot } from './magento-fixture.ts';

describe('loadEventRegistry on the example root', () => {
  it('merges the enabled modules and ignores the disabled Acme_Legacy', async () => {
    const customerXml = await readFile(path.join(EXAMPLE_ROOT, 'vendor/acme/module-customer-events/etc/async_events.xml'), 'utf8');
    const loginLine = customerXml.split('\n').findIndex((line) => line.includes('<async_event name="customer.login"')) + 1;
    const { registry, files, errors } = await loadEventRegistry(await readMagentoInstall(EXAMPLE_ROOT), silentLogger());
    expect(errors).toEqual([]);
    expect([...registry.keys()]).toEqual(['customer.created', 'customer.login', 'sales.order.created', 'sales.order.updated', 'sales.invoice.created', 'sales.shipment.created']);
    expect(registry.get('sales.order.created')).toEqual({
      name: 'sales.order.created',
      serviceClass: 'Magento\\Sales\\Api\\OrderRepositoryInterface',
      serviceMethod: 'get',
      resources: [],
      module: 'Acme_OrderEvents',
      source: { file: 'app/code/Acme/OrderEvents/etc/async_events.xml', line: 8, column: 5 },
    });
    expect(registry.get('sales.shipment.created')?.resources).toEqual(['Magento_Sales::shipment']);
    expect(registry.get('customer.login')).toMatchObject({
      serviceClass: 'Acme\\CustomerEvents\\Api\\LoginActivityInterface',
      serviceMethod: 'getByCustomerId',
      module: 'Acme_CustomerEvents',
      source: { file: 'vendor/acme/module-customer-events/etc/async_events.xml', line: loginLine },
    });
    expect(files.map((file) => file.module)).toEqual(['Acme_CustomerEvents', 'Acme_OrderEvents']);
  });
});

describe('loadEventRegistry merging', () => {
  let temp: TempRoot | undefined;
  afterEach(async () => {
    await temp?.remove();
    temp = undefined;
  });

  it('lets the later module win, keeps names case-sensitive and skips disabled modules', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_First', { asyncEvents: asyncEventsXml({ 'order.placed': ['Acme\\First', 'get'], 'Order.Placed': ['Acme\\Caps', 'get'] }) });
    await temp.module('Acme_Second', { sequence: ['Acme_First'], asyncEvents: asyncEventsXml({ other: ['X', 'y'], 'order.placed': ['Acme\\Second', 'load'] }, 'Aligent_AsyncEvents') });
    await temp.module('Acme_Off', { sequence: ['Acme_Second'], asyncEvents: asyncEventsXml({ 'order.placed': ['Acme\\Off', 'get'] }) });
    // config.php lists Second before First: the sequence decides.
    await temp.config({ Acme_Second: 1, Acme_First: 1, Acme_Off: 0 });
    const { registry, files, errors } = await loadEventRegistry(await readMagentoInstall(temp.root), silentLogger());
    expect(errors).toEqual([]);
    expect(registry.get('order.placed')).toMatchObject({
      serviceClass: 'Acme\\Second',
      serviceMethod: 'load',
      module: 'Acme_Second',
      source: { file: 'app/code/Acme/Second/etc/async_events.xml', line: 6 },
    });
    expect(registry.get('Order.Placed')).toMatchObject({ serviceClass: 'Acme\\Caps', module: 'Acme_First' });
    expect(registry.get('order.PLACED')).toBeUndefined();
    expect(files).toEqual([
      { file: 'app/code/Acme/First/etc/async_events.xml', module: 'Acme_First', events: ['order.placed', 'Order.Placed'] },
      { file: 'app/code/Acme/Second/etc/async_events.xml', module: 'Acme_Second', events: ['other', 'order.placed'] },
    ]);
  });

  it("merges <resources> the way Magento's config DOM merge does", async () => {
    temp = await makeTempRoot();
    const withResources = (name: string, resources: string[] | undefined, cls = 'C'): string =>
      `<async_event name="${name}"><service class="${cls}" method="m"/>${resources ? `<resources>${resources.map((r) => `<resource>${r}</resource>`).join('')}</resources>` : ''}</async_event>`;
    await temp.module('Acme_A', {
      asyncEvents: `<config>\n${withResources('kept', ['A::one'])}\n${withResources('replaced', ['A::one'])}\n${withResources('added', undefined)}\n${withResources('clash', ['A::one', 'A::two'])}\n</config>`,
    });
    await temp.module('Acme_B', {
      sequence: ['Acme_A'],
      asyncEvents: `<config>\n${withResources('kept', undefined, 'B')}\n${withResources('replaced', ['B::one'])}\n${withResources('added', ['B::one', 'B::two'])}\n${withResources('clash', ['B::one'])}\n</config>`,
    });
    await temp.config({ Acme_A: 1, Acme_B: 1 });
    const { registry, errors } = await loadEventRegistry(await readMagentoInstall(temp.root), silentLogger());
    expect(registry.get('kept')).toMatchObject({ serviceClass: 'B', resources: ['A::one'] });
    expect(registry.get('replaced')?.resources).toEqual(['B::one']);
    expect(registry.get('added')?.resources).toEqual(['B::one', 'B::two']);
    expect(registry.get('clash')).toMatchObject({ module: 'Acme_A', resources: ['A::one', 'A::two'] });
    expect(errors).toEqual([
      expect.objectContaining({ file: 'app/code/Acme/B/etc/async_events.xml', line: 5, message: expect.stringContaining("async_event 'clash': cannot merge <resources>") }),
    ]);
  });

  it('reports invalid files with file:line and merges the valid ones', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_Good', { asyncEvents: asyncEventsXml({ 'good.event': ['G', 'get'] }) });
    await temp.module('Acme_Bad', { asyncEvents: '<config>\n  <async_event name="bad event">\n    <service class="B"/>\n  </async_event>\n</config>\n' });
    await temp.module('Acme_Empty', { asyncEvents: '<config>\n  <async_event name="x">\n    <service class="" method="get"/>\n  </async_event>\n</config>\n' });
    await temp.config({ Acme_Good: 1, Acme_Bad: 1, Acme_Empty: 1 });
    const { registry, files, errors } = await loadEventRegistry(await readMagentoInstall(temp.root), silentLogger());
    expect([...registry.keys()]).toEqual(['good.event']);
    expect(files.find((file) => file.module === 'Acme_Bad')?.events).toEqual([]);
    expect(errors).toEqual([
      { file: 'app/code/Acme/Bad/etc/async_events.xml', line: 2, column: 3, message: expect.stringContaining("'bad event' is not a valid event name") },
      { file: 'app/code/Acme/Bad/etc/async_events.xml', line: 3, column: 5, message: "Element 'service': The attribute 'method' is required but missing." },
      { file: 'app/code/Acme/Empty/etc/async_events.xml', line: 2, column: 3, message: "async_event 'x': <service> needs a non-empty class and method" },
    ]);
  });

  it('turns an unreadable file into an error entry', async () => {
    temp = await makeTempRoot();
    const dir = await temp.module('Acme_Locked');
    // A directory where the file should be fails to read even for root (tests may run as root).
    await mkdir(path.join(temp.root, dir, 'etc/async_events.xml'));
    await temp.module('Acme_Fine', { asyncEvents: asyncEventsXml({ a: ['A', 'b'] }) });
    await temp.config({ Acme_Locked: 1, Acme_Fine: 1 });
    const { registry, errors } = await loadEventRegistry(await readMagentoInstall(temp.root), silentLogger());
    expect([...registry.keys()]).toEqual(['a']);
    expect(errors).toEqual([{ file: 'app/code/Acme/Locked/etc/async_events.xml', line: 1, message: expect.stringContaining('cannot read') }]);
  });
});
