import { describe, expect, it } from 'vitest';
import { ALL_RESOURCES, createEventAccess } from '../../src/config/event-access.ts';
import type { EventDefinition, Principal } from '../../src/types.ts';

const event = (name: string, resources: readonly string[]): EventDefinition => ({
  name, serviceClass: 'Magento\\Sales\\Api\\OrderRepositoryInterface', serviceMethod: 'get', resources, module: 'Test_Module', source: { file: 'etc/async_events.xml', line: 1 },
});

const registry = new Map([
  ['sales.order.created', event('sales.order.created', ['Magento_Sales::sales'])],
  ['example.event', event('example.event', [])],
]);
const integration: Principal = { kind: 'integration', integrationId: 1, name: 'crm' };
const admin: Principal = { kind: 'api-token' };

/** An integration allowed the listed resources; the API token may do anything. */
function access(granted: readonly string[]) {
  return createEventAccess({
    events: () => registry,
    isAllowed: async (principal, resources) => (principal.kind === 'api-token' ? true : resources.every((r) => granted.includes(r) || granted.includes(ALL_RESOURCES))),
  });
}

describe('event access: the one "may this caller act on event X" rule', () => {
  it("needs the event's <resources>; an event without any needs nothing more", async () => {
    await expect(access([]).assertAllowed(integration, 'sales.order.created')).rejects.toMatchObject({ code: 'FORBIDDEN', details: { resources: ['Magento_Sales::sales'], eventName: 'sales.order.created' } });
    await expect(access(['Magento_Sales::sales']).assertAllowed(integration, 'sales.order.created')).resolves.toBeUndefined();
    expect(await access([]).allows(integration, 'example.event')).toBe(true);
    expect(await access([]).allows(admin, 'sales.order.created')).toBe(true);
  });

  it('an event no longer declared needs all resources, since what it needed is unknown', async () => {
    expect(access([]).resourcesOf('removed.event')).toEqual([ALL_RESOURCES]);
    expect(await access(['Magento_Sales::sales']).allows(integration, 'removed.event')).toBe(false);
    expect(await access([ALL_RESOURCES]).allows(integration, 'removed.event')).toBe(true);
    expect(await access([]).allows(admin, 'removed.event')).toBe(true);
  });
});
