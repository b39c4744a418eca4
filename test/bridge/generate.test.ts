import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBridge } from '../../src/bridge/generate.ts';
import { runGenerate } from '../../src/bridge/generate-command.ts';
import { escapeXml } from '../../src/bridge/render.ts';
import { bridgeRouteUrl } from '../../src/bridge/routes.ts';
import { isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { FIXTURES, REPO_ROOT, eventDefinition, generateSample, registry, removeDir, sampleEvents, sampleRoutedServices, tempDir } from './support.ts';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, parseTagValue: false, isArray: (name, _path, _leaf, isAttribute) => !isAttribute && ['route', 'resource', 'column', 'constraint', 'index', 'table', 'topic', 'exchange', 'binding', 'publisher'].includes(name) });

type Node = Record<string, unknown>;
const nodes = (value: unknown): Node[] => (Array.isArray(value) ? (value as Node[]) : value === undefined ? [] : [value as Node]);

async function readXml(dir: string, file: string): Promise<Node> {
  return parser.parse(await readFile(path.join(dir, file), 'utf8')) as Node;
}

const EXPECTED_FILES = [
  'Api/AsyncEventPublisherInterface.php',
  'Controller/Adminhtml/Console/Index.php',
  'Model/AsyncEventPublisher.php',
  'README.md',
  'composer.json',
  'etc/acl.xml',
  'etc/adminhtml/menu.xml',
  'etc/adminhtml/routes.xml',
  'etc/adminhtml/system.xml',
  'etc/async_events.xsd',
  'etc/communication.xml',
  'etc/config.xml',
  'etc/db_schema.xml',
  'etc/db_schema_whitelist.json',
  'etc/di.xml',
  'etc/module.xml',
  'etc/queue_publisher.xml',
  'etc/queue_topology.xml',
  'etc/webapi.xml',
  'registration.php',
];

describe('generateBridge', () => {
  let outDir: string;
  let firstRun: { written: string[]; unchanged: string[] };

  beforeAll(async () => {
    outDir = await tempDir();
    firstRun = await generateBridge({ events: sampleEvents, routedServices: sampleRoutedServices, outDir, logger: silentLogger() });
  });
  afterAll(async () => removeDir(outDir));

  it('writes every file of the module on the first run', () => {
    expect(firstRun.written).toEqual(EXPECTED_FILES);
    expect(firstRun.unchanged).toEqual([]);
  });

  it('is idempotent: a second run writes nothing and leaves mtimes alone', async () => {
    const before = await stat(path.join(outDir, 'etc/webapi.xml'));
    const second = await generateBridge({ events: sampleEvents, routedServices: sampleRoutedServices, outDir, logger: silentLogger() });
    expect(second.written).toEqual([]);
    expect(second.unchanged).toEqual(EXPECTED_FILES);
    expect((await stat(path.join(outDir, 'etc/webapi.xml'))).mtimeMs).toBe(before.mtimeMs);
  });

  it('rewrites only the files whose content changed', async () => {
    await writeFile(path.join(outDir, 'etc/di.xml'), '<config/>');
    const withMoreRoutes = new Map(sampleEvents);
    withMoreRoutes.set('cms.page.saved', eventDefinition('cms.page.saved', 'Vendor\\Cms\\Api\\PageFeedInterface', 'get'));
    const third = await generateBridge({ events: withMoreRoutes, routedServices: sampleRoutedServices, outDir, logger: silentLogger() });
    expect(third.written).toEqual(['README.md', 'etc/di.xml', 'etc/webapi.xml']);
    const fourth = await generateBridge({ events: sampleEvents, routedServices: sampleRoutedServices, outDir, logger: silentLogger() });
    expect(fourth.written).toEqual(['README.md', 'etc/webapi.xml']);
  });

  it('adds REST routes only for services without one, under the event resources or MageOS_AsyncEvents::manage', async () => {
    const routes = nodes(((await readXml(outDir, 'etc/webapi.xml')).routes as Node).route);
    const summary = routes.map((route) => ({
      url: route.url,
      method: route.method,
      service: `${(route.service as Node).class}::${(route.service as Node).method}`,
      resources: nodes((route.resources as Node).resource).map((resource) => resource.ref),
    }));
    expect(summary).toEqual([
      { url: '/V1/async-events/data/catalog/product-feed/updated_v2', method: 'GET', service: 'Vendor\\Feed\\Api\\ProductFeedInterface::getBySku', resources: ['Magento_Catalog::products', 'Vendor_Feed::feed'] },
      { url: '/V1/async-events/data/customer/login_failed', method: 'GET', service: 'Zero1\\AsyncEventCustomerLoginFailed\\Service\\LoginFailedService::transform', resources: ['Magento_Customer::customer'] },
      { url: '/V1/async-events/data/example/event', method: 'GET', service: 'Magento\\Directory\\Api\\CountryInformationAcquirerInterface::getCountryInfo', resources: ['MageOS_AsyncEvents::manage'] },
    ]);
    const text = await readFile(path.join(outDir, 'etc/webapi.xml'), 'utf8');
    expect(text).not.toContain('OrderRepositoryInterface');
    expect(text).not.toContain('AsyncEventRepositoryInterface');
    expect(text).not.toMatch(/url="[^"]*:/);
  });

  it('writes an empty but valid routes file when every service is routed', async () => {
    const dir = await tempDir();
    try {
      await generateBridge({ events: registry(eventDefinition('sales.order.created', 'Magento\\Sales\\Api\\OrderRepositoryInterface', 'get')), routedServices: sampleRoutedServices, outDir: dir, logger: silentLogger() });
      const routes = (await readXml(dir, 'etc/webapi.xml')).routes as Node;
      expect(routes['xsi:noNamespaceSchemaLocation']).toBe('urn:magento:module:Magento_Webapi:etc/webapi.xsd');
      expect(nodes(routes.route)).toEqual([]);
    } finally {
      await removeDir(dir);
    }
  });

  it('declares the upstream topics, one publisher and the upstream topology without hard-coded connections', async () => {
    const communication = (await readXml(outDir, 'etc/communication.xml')).config as Node;
    expect(nodes(communication.topic)).toEqual([
      { name: 'event.trigger', request: 'string[]', is_synchronous: 'false' },
      { name: 'event.retry', request: 'string[]', is_synchronous: 'false' },
      { name: 'event.retry.kill', request: 'string[]', is_synchronous: 'false' },
    ]);
    const publisher = (await readXml(outDir, 'etc/queue_publisher.xml')).config as Node;
    expect(nodes(publisher.publisher)).toEqual([{ topic: 'event.trigger' }]);
    const topology = (await readXml(outDir, 'etc/queue_topology.xml')).config as Node;
    const exchanges = nodes(topology.exchange);
    expect(exchanges.map((exchange) => [exchange.name, exchange.type, exchange.connection])).toEqual([['magento', 'topic', undefined], ['event.failover', 'topic', undefined]]);
    const bindings = exchanges.flatMap((exchange) => nodes(exchange.binding).map((binding) => `${String(exchange.name)}:${String(binding.topic)}->${String(binding.destination)}`));
    expect(bindings).toEqual(['magento:event.trigger->event.trigger', 'event.failover:event.retry->event.failover.retry', 'event.failover:event.retry.kill->event.failover.deadletter']);
  });

  it('declares no PHP consumers, which would compete with the sidecar', async () => {
    await expect(stat(path.join(outDir, 'etc/queue_consumer.xml'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(outDir, 'etc/communication.xml'), 'utf8')).not.toContain('<handler');
  });

  it('has the same tables as upstream 4.x db_schema.xml', async () => {
    const shape = (schema: Node) =>
      Object.fromEntries(nodes((schema.schema as Node).table).map((table) => {
        const { column, constraint, index, ...attributes } = table;
        const byKey = (items: unknown, key: string) => Object.fromEntries(nodes(items).map((item) => {
          const { column: columns, ...rest } = item;
          return [String(item[key]), { ...rest, columns: nodes(columns).map((c) => c.name) }];
        }));
        return [String(table.name), { attributes, columns: Object.fromEntries(nodes(column).map((c) => [String(c.name), c])), constraints: byKey(constraint, 'referenceId'), indexes: byKey(index, 'referenceId') }];
      }));
    const upstream = parser.parse(await readFile(path.join(FIXTURES, 'upstream/mageos-async-events@15365f9d/etc/db_schema.xml'), 'utf8')) as Node;
    const ours = await readXml(outDir, 'etc/db_schema.xml');
    expect(shape(ours)).toEqual(shape(upstream));
    expect(Object.keys(shape(ours))).toEqual(['async_event_subscriber', 'async_event_subscriber_log']);
  });

  it('has the same db_schema_whitelist.json entries as upstream', async () => {
    const upstream: unknown = JSON.parse(await readFile(path.join(FIXTURES, 'upstream/mageos-async-events/etc/db_schema_whitelist.json'), 'utf8'));
    const ours: unknown = JSON.parse(await readFile(path.join(outDir, 'etc/db_schema_whitelist.json'), 'utf8'));
    expect(ours).toEqual(upstream);
  });

  it('keeps upstream ACL ids and admin config defaults, and adds the console URL', async () => {
    const aclIds = (await readFile(path.join(outDir, 'etc/acl.xml'), 'utf8')).match(/id="([^"]+)"/g);
    const upstreamIds = (await readFile(path.join(FIXTURES, 'upstream/mageos-async-events/etc/acl.xml'), 'utf8')).match(/id="([^"]+)"/g);
    expect(aclIds).toEqual(upstreamIds);
    const defaults = (((await readXml(outDir, 'etc/config.xml')).config as Node).default as Node).system as Node;
    expect(defaults.async_events).toEqual({
      indexing_enabled: '1',
      max_deaths: '5',
      subscriber_log_cleanup_cron: '0',
      subscriber_log_cron_delete_period: '30',
      token_rotation_grace_hours: '24',
      auto_disable_hours: '120',
      auto_disable_min_failures: '10',
      alert_secret: { backend_model: 'Magento\\Config\\Model\\Config\\Backend\\Encrypted' },
      console_url: 'http://localhost:8080/',
    });
    const system = await readFile(path.join(outDir, 'etc/adminhtml/system.xml'), 'utf8');
    for (const field of ['indexing_enabled', 'max_deaths', 'token_rotation_grace_hours', 'subscriber_log_cleanup_cron', 'subscriber_log_cron_delete_period', 'console_url', 'auto_disable_hours', 'auto_disable_min_failures', 'alert_url', 'alert_secret']) {
      expect(system).toContain(`<field id="${field}"`);
    }
    // Stored encrypted, as the sidecar decrypts it.
    expect(system).toMatch(/<field id="alert_secret"[^>]*type="obscure"[\s\S]*?<backend_model>Magento\\Config\\Model\\Config\\Backend\\Encrypted<\/backend_model>/);
    expect(system).toContain('<section id="system">');
    expect(system).toContain('<group id="async_events"');
  });

  it('escapes the console URL into config.xml', async () => {
    const dir = await generateSample('https://console.example.com/events?from=magento&x="1"');
    try {
      const text = await readFile(path.join(dir, 'etc/config.xml'), 'utf8');
      expect(text).toContain('from=magento&amp;x=&quot;1&quot;');
      const defaults = (((parser.parse(text) as Node).config as Node).default as Node).system as Node;
      expect((defaults.async_events as Node).console_url).toBe('https://console.example.com/events?from=magento&amp;x=&quot;1&quot;'.replace(/&amp;/g, '&').replace(/&quot;/g, '"'));
    } finally {
      await removeDir(dir);
    }
  });

  it('writes the composer package, registration and the PSR-4 publisher where existing observers look for it', async () => {
    const composer = JSON.parse(await readFile(path.join(outDir, 'composer.json'), 'utf8')) as Record<string, unknown>;
    expect(composer).toMatchObject({ name: 'mage-os/mageos-async-events', type: 'magento2-module', require: { php: '>=8.1' }, autoload: { files: ['registration.php'], 'psr-4': { 'MageOS\\AsyncEvents\\': '' } } });
    expect(await readFile(path.join(outDir, 'registration.php'), 'utf8')).toContain("ComponentRegistrar::register(ComponentRegistrar::MODULE, 'MageOS_AsyncEvents', __DIR__);");
    const model = await readFile(path.join(outDir, 'Model/AsyncEventPublisher.php'), 'utf8');
    expect(model).toContain('namespace MageOS\\AsyncEvents\\Model;');
    expect(model).toContain('class AsyncEventPublisher implements AsyncEventPublisherInterface');
    expect(model).toContain('public function publish(string $eventName, array $data, int|string $storeId = 0): void');
    const module = (await readXml(outDir, 'etc/module.xml')).config as Node;
    expect((module.module as Node).name).toBe('MageOS_AsyncEvents');
  });

  it('copies the repository schema to the URN existing async_events.xml files reference', async () => {
    expect(await readFile(path.join(outDir, 'etc/async_events.xsd'), 'utf8')).toBe(await readFile(path.join(REPO_ROOT, 'schemas/async_events.xsd'), 'utf8'));
  });
});

describe('generateBridge refuses what it cannot render safely', () => {
  async function failure(events: ReturnType<typeof registry>, consoleUrl?: string): Promise<unknown> {
    const dir = path.join(await tempDir(), 'module');
    try {
      await generateBridge({ events, routedServices: sampleRoutedServices, outDir: dir, ...(consoleUrl ? { consoleUrl } : {}), logger: silentLogger() });
    } catch (error) {
      await expect(stat(dir)).rejects.toThrow(/ENOENT/); // nothing written
      return error;
    } finally {
      await removeDir(path.dirname(dir));
    }
    throw new Error('expected generateBridge to fail');
  }

  it('reports every bad event with its file and line in one error', async () => {
    const error = await failure(registry(
      eventDefinition('bad name', 'Vendor\\Api\\Thing', 'get', [], 21),
      eventDefinition('x.ok', 'Vendor\\Api\\Thing"/><evil', 'get', [], 22),
      eventDefinition('y.ok', 'Vendor\\Api\\Thing', 'get-it', [], 23),
      eventDefinition('z.ok', 'Vendor\\Api\\Thing', 'get', ['anonymous'], 24),
      eventDefinition('w.ok', 'Vendor\\Api\\Thing', 'get', ['Vendor_Module::x" y'], 25),
      eventDefinition('.leading', 'Vendor\\Api\\Thing', 'get', [], 26),
    ));
    expect(isAsyncEventsError(error, 'CONFIG_INVALID')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('app/code/Vendor/Events/etc/async_events.xml:21:5: event "bad name": event names may contain only [a-zA-Z0-9._-]');
    expect(message).toContain(':22:5: event "x.ok": service class "Vendor\\Api\\Thing"/><evil" is not a PHP class name');
    expect(message).toContain(':23:5: event "y.ok": service method "get-it" is not a PHP method name');
    expect(message).toContain(':24:5: event "z.ok": resource "anonymous" would let anyone call the bridge route');
    expect(message).toContain(':25:5: event "w.ok": resource "Vendor_Module::x" y" is not an ACL resource id');
    expect(message).toContain(':26:5: event ".leading": the name has an empty part');
  });

  it('accepts a name with an empty part when the service already has a route', async () => {
    const dir = await tempDir();
    try {
      const result = await generateBridge({ events: registry(eventDefinition('sales..order', 'Magento\\Sales\\Api\\OrderRepositoryInterface', 'get')), routedServices: sampleRoutedServices, outDir: dir, logger: silentLogger() });
      expect(result.written).toContain('etc/webapi.xml');
    } finally {
      await removeDir(dir);
    }
  });

  it('treats a leading backslash as the same class when deciding whether a service is routed', async () => {
    const dir = await tempDir();
    try {
      await generateBridge({ events: registry(eventDefinition('order.placed', '\\Magento\\Sales\\Api\\OrderRepositoryInterface', 'get')), routedServices: new Set(['\\Magento\\Sales\\Api\\OrderRepositoryInterface::get']), outDir: dir, logger: silentLogger() });
      expect(await readFile(path.join(dir, 'etc/webapi.xml'), 'utf8')).not.toContain('<route ');
      await generateBridge({ events: registry(eventDefinition('order.placed', '\\Magento\\Sales\\Api\\OrderRepositoryInterface', 'get')), routedServices: new Set(), outDir: dir, logger: silentLogger() });
      expect(await readFile(path.join(dir, 'etc/webapi.xml'), 'utf8')).toContain('<service class="Magento\\Sales\\Api\\OrderRepositoryInterface" method="get"/>');
    } finally {
      await removeDir(dir);
    }
  });

  it('refuses a console URL that is not http(s)', async () => {
    const error = await failure(sampleEvents, 'javascript:alert(1)');
    expect(isAsyncEventsError(error, 'SETTING_INVALID')).toBe(true);
    expect((error as Error).message).toContain('must use http or https');
  });

  it('names the missing schema file', async () => {
    const dir = await tempDir();
    try {
      await expect(generateBridge({ events: sampleEvents, routedServices: sampleRoutedServices, outDir: dir, logger: silentLogger(), schemaFile: path.join(dir, 'missing.xsd') }))
        .rejects.toThrow(/cannot read the async_events.xml schema .*missing\.xsd/);
    } finally {
      await removeDir(dir);
    }
  });
});

describe('bridge route URLs', () => {
  it('turns dots into path segments and keeps case, dashes and underscores', () => {
    expect(bridgeRouteUrl('sales.order.created')).toBe('/V1/async-events/data/sales/order/created');
    expect(bridgeRouteUrl('Vendor.Thing-happened_2')).toBe('/V1/async-events/data/Vendor/Thing-happened_2');
    expect(() => bridgeRouteUrl('a..b')).toThrow(/empty part/);
    expect(() => bridgeRouteUrl('a/b')).toThrow(/only \[a-zA-Z0-9._-\]/);
  });
});

describe('runGenerate', () => {
  it('prints each file as written, then as unchanged on the next run', async () => {
    const dir = await tempDir();
    try {
      const first: string[] = [];
      await runGenerate({ events: sampleEvents, routedServices: sampleRoutedServices, outDir: dir, consoleUrl: 'https://console.example.com/' }, { log: (line) => first.push(line) });
      expect(first.slice(0, -1)).toEqual(EXPECTED_FILES.map((file) => `written ${file}`));
      expect(first.at(-1)).toBe(`${EXPECTED_FILES.length} written, 0 unchanged in ${dir}`);
      const second: string[] = [];
      await runGenerate({ events: sampleEvents, routedServices: sampleRoutedServices, outDir: dir, consoleUrl: 'https://console.example.com/' }, { log: (line) => second.push(line) });
      expect(second.slice(0, -1)).toEqual(EXPECTED_FILES.map((file) => `unchanged ${file}`));
    } finally {
      await removeDir(dir);
    }
  });
});

describe('escapeXml', () => {
  it('escapes the five XML special characters and nothing else', () => {
    expect(escapeXml(`a&b<c>d"e'f\\g`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f\\g');
  });
});
