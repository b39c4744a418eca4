import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { parseFieldSelection, selectFields } from '../../src/magento/fields-selection.ts';

// The customer response of Magento's own FieldsFilter unit test, as its REST renderer (json_encode) writes it.
const CUSTOMER = JSON.stringify({
  customer: {
    id: '1',
    website_id: '0',
    created_in: 'Default Store View',
    store_id: '1',
    group_id: '1',
    custom_attributes: [{ attribute_code: 'disable_auto_group_change', value: '0' }],
    firstname: 'Jane',
    lastname: 'Doe',
    email: 'jdoe@example.com',
    default_billing: '1',
    default_shipping: '1',
    created_at: '2014-05-27 18:59:43',
    dob: '1983-05-26 00:00:00',
    taxvat: '1212121212',
    gender: '1',
  },
  addresses: [
    {
      firstname: 'Jane',
      lastname: 'Doe',
      street: ['7700  Parmer ln'],
      city: 'Austin',
      country_id: 'US',
      region: { region: 'Texas', region_id: 57, region_code: 'TX' },
      postcode: '78728',
      telephone: '1111111111',
      default_billing: true,
      default_shipping: true,
      id: '1',
      customer_id: '1',
    },
    {
      firstname: 'Jane',
      lastname: 'Doe',
      street: ['2211 N First St '],
      city: 'San Jose',
      country_id: 'US',
      region: { region: 'California', region_id: 23, region_code: 'CA' },
      postcode: '98454',
      telephone: '2222222222',
      default_billing: true,
      default_shipping: true,
      id: '2',
      customer_id: '1',
    },
  ],
});

const select = (json: string, fields: string): string => selectFields(json, parseFieldSelection(fields));

describe('fields selection, as Magento REST answers ?fields=', () => {
  it('keeps a whole top-level object', () => {
    const parsed = JSON.parse(CUSTOMER) as { customer: unknown };
    expect(select(CUSTOMER, 'customer')).toBe(JSON.stringify({ customer: parsed.customer }));
  });

  it('keeps the response order of keys, not the order of the selection', () => {
    expect(select(CUSTOMER, 'customer[email,id]')).toBe('{"customer":{"id":"1","email":"jdoe@example.com"}}');
  });

  it('applies nested selections to every item of a list', () => {
    expect(select(CUSTOMER, 'customer[id,email],addresses[city,postcode,region[region_code,region]]')).toBe(
      '{"customer":{"id":"1","email":"jdoe@example.com"},"addresses":[' +
        '{"city":"Austin","region":{"region":"Texas","region_code":"TX"},"postcode":"78728"},' +
        '{"city":"San Jose","region":{"region":"California","region_code":"CA"},"postcode":"98454"}]}',
    );
  });

  it('drops fields the response does not have', () => {
    expect(select(CUSTOMER, 'customer[id,email],addresses[invalid,postcode,region[region_code,region]]')).toBe(
      '{"customer":{"id":"1","email":"jdoe@example.com"},"addresses":[' +
        '{"region":{"region":"Texas","region_code":"TX"},"postcode":"78728"},' +
        '{"region":{"region":"California","region_code":"CA"},"postcode":"98454"}]}',
    );
  });

  it('matches the product example of Magento\'s documentation (sku, name, price in response order)', () => {
    const product = '{"id":1,"sku":"24-MB01","name":"Joust Duffle Bag","attribute_set_id":15,"price":34,"status":1,"type_id":"simple"}';
    expect(select(product, 'sku,price,name')).toBe('{"sku":"24-MB01","name":"Joust Duffle Bag","price":34}');
  });

  it('keeps the bytes of scalars and keys as json_encode wrote them', () => {
    const order = '{"entity_id":7,"grand_total":10.0,"customer_note":"Zo\\u00eb \\/ back door","ex\\u0074ra":1,"items":[{"sku":"A","qty_ordered":2.5e0}]}';
    expect(select(order, 'grand_total,customer_note,extra,items[qty_ordered]')).toBe(
      '{"grand_total":10.0,"customer_note":"Zo\\u00eb \\/ back door","ex\\u0074ra":1,"items":[{"qty_ordered":2.5e0}]}',
    );
  });

  it('encodes what is left as PHP encodes arrays: [] when empty, null for an empty collection, objects for sparse keys', () => {
    expect(select('{"a":1}', 'b')).toBe('[]');
    expect(select('{"items":[],"a":1}', 'items[sku]')).toBe('{"items":null}');
    // An item filtered by an index keeps that index as a key, as PHP does, which json_encode writes as an object.
    expect(select('{"m":[["a","b"],["c","d"]]}', 'm[1]')).toBe('{"m":[{"1":"b"},{"1":"d"}]}');
    expect(select('{"m":[["a","b"],["c","d"]]}', 'm[0]')).toBe('{"m":[["a"],["c"]]}');
  });

  it('treats an object with only integer keys as a collection, as PHP does', () => {
    expect(select('{"items":{"3":{"sku":"A","qty":1},"9":{"sku":"B","qty":2}}}', 'items[sku]')).toBe('{"items":{"3":{"sku":"A"},"9":{"sku":"B"}}}');
  });

  it('applies a selection to each item of a top-level list, and leaves scalars alone', () => {
    expect(select('[{"a":1,"b":2},{"a":3}]', 'a')).toBe('[{"a":1},{"a":3}]');
    expect(select('"text"', 'a')).toBe('"text"');
    expect(select('[1,2]', 'a')).toBe('[1,2]');
  });

  it('lets the last mention of a field win, as Magento\'s parser does', () => {
    expect(select('{"a":{"b":1,"c":2}}', 'a[b],a')).toBe('{"a":{"b":1,"c":2}}');
    expect(select('{"a":{"b":1,"c":2}}', 'a,a[b]')).toBe('{"a":{"b":1}}');
  });

  it.each([
    ['', 1],
    ['  ', 1],
    ['customer(email)', 9],
    [' customer[email]', 1],
    ['-', 1],
    ['customer[id,email],addresses[city,postcode,region[region_code,region]', 70],
    ['a]', 2],
    ['[a]', 1],
    [',', 1],
  ])('refuses %j with its position (Magento would answer [])', (fields, position) => {
    try {
      parseFieldSelection(fields);
      expect.unreachable();
    } catch (error) {
      expect(isAsyncEventsError(error, 'VALIDATION_FAILED')).toBe(true);
      expect((error as Error).message).toContain(`position ${position}`);
    }
  });
});
