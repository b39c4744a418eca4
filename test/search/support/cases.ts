import { chainUuid, phpJson, type SeedRow } from './seed.ts';

/*
 * The conformance list: each query with the rows it must find (an independent predicate over the seed, written
 * from the documented semantics) and the query_string the Elasticsearch adapter must send for it.
 */

export interface ConformanceCase {
  readonly query: string;
  readonly matches: (row: SeedRow) => boolean;
  readonly queryString: string;
}

const lower = (text: string): string => text.toLowerCase();
const text = (row: SeedRow): string => lower(row.serializedData ?? '');
/** Field-less search: a case-insensitive substring of the data as stored, in plain or PHP-escaped spelling. */
const inText = (row: SeedRow, needle: string): boolean => text(row).includes(lower(needle)) || text(row).includes(lower(phpJson(needle).slice(1, -1)));
const field = (row: SeedRow, key: string): unknown => row.payload?.[key];
const fieldText = (row: SeedRow, key: string): string | undefined => {
  const value = field(row, key);
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
};
const fieldIs = (row: SeedRow, key: string, expected: string): boolean => lower(fieldText(row, key) ?? '\u0000') === lower(expected);
const isCloudEvent = (row: SeedRow): boolean => row.format === 'cloudevents';
const SECOND_CHAIN = chainUuid(255);

export const README_CASES: readonly ConformanceCase[] = [
  { query: 'event_name: customer.*', matches: (r) => r.eventName.startsWith('customer.'), queryString: 'event_name:customer.*' },
  { query: '*.created', matches: (r) => r.eventName.endsWith('.created') || text(r).includes('.created'), queryString: '*.created' },
  {
    query: 'customer.* AND success: false',
    matches: (r) => (r.eventName.startsWith('customer.') || text(r).includes('customer.')) && !r.success,
    queryString: '(customer.* AND success:false)',
  },
  {
    query: 'data.data.customer_email: roni_cost@example.com',
    matches: (r) => fieldIs(r, 'customer_email', 'roni_cost@example.com'),
    queryString: 'data.data.customer_email:"roni_cost@example.com"',
  },
  {
    query: 'data.data.increment_id: CK* AND success: true',
    matches: (r) => lower(fieldText(r, 'increment_id') ?? '').startsWith('ck') && r.success,
    queryString: '(data.data.increment_id:CK* AND success:true)',
  },
];

export const CASES: readonly ConformanceCase[] = [
  ...README_CASES,
  // phrases, field-less terms, escaped spellings
  { query: '"back door"', matches: (r) => inText(r, 'back door'), queryString: '"back door"' },
  {
    query: 'data.data.note:"please deliver to the back door"',
    matches: (r) => fieldIs(r, 'note', 'please deliver to the back door'),
    queryString: 'data.data.note:"please deliver to the back door"',
  },
  { query: 'customer.created', matches: (r) => r.eventName === 'customer.created' || inText(r, 'customer.created'), queryString: '"customer.created"' },
  { query: 'Roni_Cost@Example.com', matches: (r) => inText(r, 'roni_cost@example.com'), queryString: '"Roni_Cost@Example.com"' },
  { query: 'Zoë', matches: (r) => inText(r, 'Zoë'), queryString: '"Zoë"' },
  {
    query: '"https://shop.example.com/zoe-top.html"',
    matches: (r) => inText(r, 'https://shop.example.com/zoe-top.html'),
    queryString: '"https://shop.example.com/zoe-top.html"',
  },
  { query: 'data.data.name:"zoë top"', matches: (r) => fieldIs(r, 'name', 'Zoë Top'), queryString: 'data.data.name:"zoë top"' },
  { query: 'data.data.sku:24\\-MB01', matches: (r) => fieldIs(r, 'sku', '24-MB01'), queryString: 'data.data.sku:"24-MB01"' },
  { query: 'data.data.sku:24-MB01', matches: (r) => fieldIs(r, 'sku', '24-MB01'), queryString: 'data.data.sku:"24-MB01"' },
  { query: 'data.data.sku:WS12*Orange', matches: (r) => /^ws12.*orange$/.test(lower(fieldText(r, 'sku') ?? '')), queryString: 'data.data.sku:WS12*Orange' },
  {
    query: `data.data.note:"'; DROP TABLE async_event_subscriber_log; --"`,
    matches: (r) => fieldIs(r, 'note', "'; DROP TABLE async_event_subscriber_log; --"),
    queryString: `data.data.note:"'; DROP TABLE async_event_subscriber_log; --"`,
  },
  // NOT, -, +, !
  { query: 'NOT success:true', matches: (r) => !r.success, queryString: '(*:* AND NOT success:true)' },
  { query: '!success:true', matches: (r) => !r.success, queryString: '(*:* AND NOT success:true)' },
  { query: '-event_name:customer.created', matches: (r) => r.eventName !== 'customer.created', queryString: '(*:* AND NOT event_name:"customer.created")' },
  {
    query: '+event_name:customer.created -success:true',
    matches: (r) => r.eventName === 'customer.created' && !r.success,
    queryString: '(event_name:"customer.created" AND (*:* AND NOT success:true))',
  },
  {
    query: 'success:true AND NOT data.data.status:complete',
    matches: (r) => r.success && !fieldIs(r, 'status', 'complete'),
    queryString: '(success:true AND (*:* AND NOT data.data.status:"complete"))',
  },
  // ranges
  {
    query: 'created:[2024-01-01 TO 2024-12-31]',
    matches: (r) => r.created >= '2024-01-01 00:00:00' && r.created <= '2024-12-31 23:59:59',
    queryString: 'created:["2024-01-01 00:00:00" TO "2024-12-31 23:59:59"]',
  },
  {
    query: 'created:{2024-03-01 TO 2024-06-01}',
    matches: (r) => r.created > '2024-03-01 23:59:59' && r.created < '2024-06-01 00:00:00',
    queryString: 'created:{"2024-03-01 23:59:59" TO "2024-06-01 00:00:00"}',
  },
  { query: 'created:>=2025-01-01', matches: (r) => r.created >= '2025-01-01 00:00:00', queryString: 'created:["2025-01-01 00:00:00" TO *]' },
  { query: 'created:<2023-10', matches: (r) => r.created < '2023-10-01 00:00:00', queryString: 'created:[* TO "2023-10-01 00:00:00"}' },
  { query: 'created:2024-05-01', matches: (r) => r.created.startsWith('2024-05-01'), queryString: 'created:["2024-05-01 00:00:00" TO "2024-05-01 23:59:59"]' },
  { query: 'created:2024-05*', matches: (r) => r.created.startsWith('2024-05'), queryString: 'created:["2024-05-01 00:00:00" TO "2024-05-31 23:59:59"]' },
  {
    query: 'created:"2024-05-01 10:00:00"',
    matches: (r) => r.created === '2024-05-01 10:00:00',
    queryString: 'created:["2024-05-01 10:00:00" TO "2024-05-01 10:00:00"]',
  },
  {
    query: 'created:[2024-05-01T10:00 TO 2024-05-01T12:59:59Z]',
    matches: (r) => r.created >= '2024-05-01 10:00:00' && r.created <= '2024-05-01 12:59:59',
    queryString: 'created:["2024-05-01 10:00:00" TO "2024-05-01 12:59:59"]',
  },
  { query: 'log_id:[100 TO 200]', matches: (r) => r.logId >= 100 && r.logId <= 200, queryString: 'log_id:[100 TO 200]' },
  { query: 'log_id:{100 TO 200}', matches: (r) => r.logId > 100 && r.logId < 200, queryString: 'log_id:{100 TO 200}' },
  { query: 'log_id:>9990', matches: (r) => r.logId > 9990, queryString: 'log_id:{9990 TO *]' },
  { query: 'log_id:[* TO 10]', matches: (r) => r.logId <= 10, queryString: 'log_id:[* TO 10]' },
  { query: 'log_id:42', matches: (r) => r.logId === 42, queryString: 'log_id:42' },
  {
    query: 'data.data.grand_total:[100 TO 200]',
    matches: (r) => typeof field(r, 'grand_total') === 'number' && (field(r, 'grand_total') as number) >= 100 && (field(r, 'grand_total') as number) <= 200,
    queryString: 'data.data.grand_total:[100 TO 200]',
  },
  {
    query: 'data.data.grand_total:>=990.5',
    matches: (r) => typeof field(r, 'grand_total') === 'number' && (field(r, 'grand_total') as number) >= 990.5,
    queryString: 'data.data.grand_total:[990.5 TO *]',
  },
  // grouping, precedence, implicit OR
  {
    query: '(event_name:customer.created OR event_name:customer.updated) AND success:false',
    matches: (r) => (r.eventName === 'customer.created' || r.eventName === 'customer.updated') && !r.success,
    queryString: '((event_name:"customer.created" OR event_name:"customer.updated") AND success:false)',
  },
  {
    query: 'event_name:(sales.order.created OR sales.order.shipped)',
    matches: (r) => r.eventName === 'sales.order.created' || r.eventName === 'sales.order.shipped',
    queryString: '(event_name:"sales.order.created" OR event_name:"sales.order.shipped")',
  },
  {
    query: 'event_name:customer.updated event_name:catalog.product.updated',
    matches: (r) => r.eventName === 'customer.updated' || r.eventName === 'catalog.product.updated',
    queryString: '(event_name:"customer.updated" OR event_name:"catalog.product.updated")',
  },
  {
    query: 'event_name:customer.created || event_name:sales.order.created && success:true',
    matches: (r) => r.eventName === 'customer.created' || (r.eventName === 'sales.order.created' && r.success),
    queryString: '(event_name:"customer.created" OR (event_name:"sales.order.created" AND success:true))',
  },
  {
    query: 'data.data.status:(pending OR processing)',
    matches: (r) => fieldIs(r, 'status', 'pending') || fieldIs(r, 'status', 'processing'),
    queryString: '(data.data.status:"pending" OR data.data.status:"processing")',
  },
  // keywords are exact and case-sensitive
  { query: 'event_name:sales.order.created', matches: (r) => r.eventName === 'sales.order.created', queryString: 'event_name:"sales.order.created"' },
  { query: 'event_name:Sales.Order.Created', matches: (r) => r.eventName === 'Sales.Order.Created', queryString: 'event_name:"Sales.Order.Created"' },
  { query: 'event_name:*created', matches: (r) => r.eventName.endsWith('created'), queryString: 'event_name:*created' },
  { query: `uuid:${SECOND_CHAIN}`, matches: (r) => r.uuid === SECOND_CHAIN, queryString: `uuid:"${SECOND_CHAIN}"` },
  {
    query: 'uuid:00000000-0000-4000-8000-00000000001?',
    matches: (r) => /^00000000-0000-4000-8000-00000000001.$/.test(r.uuid),
    queryString: 'uuid:00000000\\-0000\\-4000\\-8000\\-00000000001?',
  },
  // data paths, booleans, existence
  { query: 'data.data.is_guest:true', matches: (r) => field(r, 'is_guest') === true, queryString: 'data.data.is_guest:"true"' },
  { query: '_exists_:data.data.note', matches: (r) => field(r, 'note') !== undefined, queryString: '_exists_:data.data.note' },
  { query: 'data.data.increment_id:*', matches: (r) => field(r, 'increment_id') !== undefined, queryString: '_exists_:data.data.increment_id' },
  { query: 'data.specversion:"1.0"', matches: isCloudEvent, queryString: 'data.specversion:"1.0"' },
  { query: 'data.type:customer.created', matches: (r) => isCloudEvent(r) && r.eventName === 'customer.created', queryString: 'data.type:"customer.created"' },
  { query: 'data.data.increment_id:CK00012?', matches: (r) => /^ck00012.$/.test(lower(fieldText(r, 'increment_id') ?? '')), queryString: 'data.data.increment_id:CK00012?' },
  { query: 'event_name:customer.created^2', matches: (r) => r.eventName === 'customer.created', queryString: 'event_name:"customer.created"' },
  { query: '*', matches: () => true, queryString: '*:*' },
  { query: '', matches: () => true, queryString: '*:*' },
];

/** Bad queries and the 1-based column each error must name. */
export const BAD_QUERIES: readonly { readonly query: string; readonly position: number; readonly message: RegExp }[] = [
  { query: 'event_name:(a OR b))', position: 20, message: /^Unexpected "\)" at position 20/ },
  { query: '(event_name:a', position: 1, message: /^Unclosed "\(" at position 1/ },
  { query: 'success:true AND', position: 17, message: /^Unexpected end of query at position 17/ },
  { query: 'a OR OR b', position: 6, message: /^Unexpected "OR" at position 6/ },
  { query: 'color:red', position: 1, message: /^Unknown field "color" at position 1: searchable fields are log_id, uuid, event_name, success, created, data\.<path>/ },
  { query: 'success:maybe', position: 9, message: /^Invalid success value "maybe" at position 9/ },
  { query: 'log_id:[1 TO x]', position: 14, message: /^Invalid log_id "x" at position 14/ },
  { query: 'created:2024-13-01', position: 9, message: /^Invalid date "2024-13-01" at position 9/ },
  { query: '"open phrase', position: 1, message: /^Unclosed quote at position 1/ },
  { query: 'data.data.x:y~2', position: 14, message: /^Fuzzy and proximity searches/ },
  { query: 'data.da*ta.x:y', position: 1, message: /^Invalid field "data.da\*ta.x" at position 1/ },
  { query: 'created:[2024 TO', position: 17, message: /^Unexpected end of query at position 17/ },
  { query: '/regex/', position: 1, message: /^Regular expressions are not supported at position 1/ },
  { query: 'data.data.note:a\\', position: 17, message: /^Escape "\\" at the end of the query at position 17/ },
];

/** Queries only the built-in engine answers (Elasticsearch has no wildcards on dates; the adapter refuses them). */
export const BUILTIN_ONLY_CASES: readonly Omit<ConformanceCase, 'queryString'>[] = [
  { query: 'created:2024-0?-01*', matches: (r) => /^2024-0\d-01 /.test(r.created) },
  { query: 'created:*10\\:00\\:00', matches: (r) => r.created.endsWith('10:00:00') },
];
