import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateBridge } from '../../src/bridge/generate.ts';
import { silentLogger } from '../../src/logger.ts';
import type { EventDefinition, EventRegistry } from '../../src/types.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.resolve(REPO_ROOT, '../shared/fixtures');
export const HARNESS = path.join(REPO_ROOT, 'php-bridge', 'harness');

export function eventDefinition(name: string, serviceClass: string, serviceMethod: string, resources: string[] = [], line = 10): EventDefinition {
  return { name, serviceClass, serviceMethod, resources, source: { file: 'app/code/Vendor/Events/etc/async_events.xml', line, column: 5 }, module: 'Vendor_Events' };
}

export function registry(...definitions: EventDefinition[]): EventRegistry {
  return new Map(definitions.map((definition) => [definition.name, definition]));
}

/** A registry like a real install: two events on core routes, three that need bridge routes. */
export const sampleEvents = registry(
  eventDefinition('sales.order.created', 'Magento\\Sales\\Api\\OrderRepositoryInterface', 'get', [], 3),
  eventDefinition('customer.created', 'Magento\\Customer\\Api\\CustomerRepositoryInterface', 'getById', [], 6),
  eventDefinition('customer.login_failed', 'Zero1\\AsyncEventCustomerLoginFailed\\Service\\LoginFailedService', 'transform', ['Magento_Customer::customer'], 9),
  eventDefinition('example.event', '\\Magento\\Directory\\Api\\CountryInformationAcquirerInterface', 'getCountryInfo', [], 12),
  eventDefinition('catalog.product-feed.updated_v2', 'Vendor\\Feed\\Api\\ProductFeedInterface', 'getBySku', ['Magento_Catalog::products', 'Vendor_Feed::feed'], 15),
);

export const sampleRoutedServices: ReadonlySet<string> = new Set([
  'Magento\\Sales\\Api\\OrderRepositoryInterface::get',
  'Magento\\Customer\\Api\\CustomerRepositoryInterface::getById',
  'Magento\\Catalog\\Api\\ProductRepositoryInterface::get',
]);

export async function tempDir(prefix = 'ae-bridge-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Generates the sample module into a fresh temporary directory and returns it. */
export async function generateSample(consoleUrl?: string): Promise<string> {
  const outDir = await tempDir();
  await generateBridge({
    events: sampleEvents,
    routedServices: sampleRoutedServices,
    outDir,
    ...(consoleUrl === undefined ? {} : { consoleUrl }),
    logger: silentLogger(),
  });
  return outDir;
}
