import { afterEach, describe, expect, it } from 'vitest';
import { runValidate } from '../../src/config/validate-command.ts';
import { asyncEventsXml, EXAMPLE_ROOT, makeTempRoot, type TempRoot } from './magento-fixture.ts';

function capture(): { log: string[]; error: string[]; out: { log(line: string): void; error(line: string): void } } {
  const log: string[] = [];
  const error: string[] = [];
  return { log, error, out: { log: (line) => log.push(line), error: (line) => error.push(line) } };
}

describe('runValidate', () => {
  let temp: TempRoot | undefined;
  afterEach(async () => {
    await temp?.remove();
    temp = undefined;
  });

  it('exits 0 on the example root with one summary line per module', async () => {
    const { log, error, out } = capture();
    expect(await runValidate(EXAMPLE_ROOT, out)).toBe(0);
    expect(error).toEqual([]);
    expect(log).toEqual([
      'Acme_CustomerEvents: 2 events (customer.created, customer.login) in vendor/acme/module-customer-events/etc/async_events.xml',
      'Acme_OrderEvents: 4 events (sales.order.created, sales.order.updated, sales.invoice.created, sales.shipment.created) in app/code/Acme/OrderEvents/etc/async_events.xml',
      'Valid: 6 events from 2 files.',
    ]);
  });

  it('exits 1 naming each broken file with line and column', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_Ok', { asyncEvents: asyncEventsXml({ 'ok.event': ['A', 'b'] }) });
    await temp.module('Acme_Dup', {
      asyncEvents: '<?xml version="1.0"?>\n<config>\n    <async_event name="dup"><service class="A" method="b"/></async_event>\n    <async_event name="dup"><service class="A" method="b"/></async_event>\n</config>\n',
    });
    await temp.module('Acme_Torn', { asyncEvents: '<config>\n  <async_event name="x">\n    <service class="A" method="b">\n  </async_event>\n</config>\n' });
    await temp.module('Acme_Off', { asyncEvents: 'not xml at all' });
    await temp.config({ Acme_Ok: 1, Acme_Dup: 1, Acme_Torn: 1, Acme_Off: 0 });
    const { log, error, out } = capture();
    expect(await runValidate(temp.root, out)).toBe(1);
    expect(log).toEqual([]);
    expect(error[0]).toBe("app/code/Acme/Dup/etc/async_events.xml:4:5 Element 'async_event': duplicate event name 'dup' (each name may appear once per file)");
    expect(error[1]).toMatch(/^app\/code\/Acme\/Torn\/etc\/async_events\.xml:4:\d+ malformed XML: Opening and ending tag mismatch: service line 3 and async_event$/);
    expect(error.every((line) => !line.includes('Acme/Off') && !line.includes('Acme/Ok'))).toBe(true);
    expect(error.at(-1)).toMatch(/^\d+ errors? in 2 files$/);
  });

  it('exits 2 when the root is unusable', async () => {
    const { error, out } = capture();
    expect(await runValidate('/nonexistent/magento', out)).toBe(2);
    expect(error).toEqual([expect.stringContaining('/nonexistent/magento')]);
    temp = await makeTempRoot();
    const second = capture();
    expect(await runValidate(temp.root, second.out)).toBe(2);
    expect(second.error[0]).toContain('app/etc/config.php');
  });

  it('exits 0 with a note when no module has an async_events.xml', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_Plain');
    await temp.config({ Acme_Plain: 1 });
    const { log, out } = capture();
    expect(await runValidate(temp.root, out)).toBe(0);
    expect(log).toEqual(['No enabled module has an etc/async_events.xml.']);
  });
});
