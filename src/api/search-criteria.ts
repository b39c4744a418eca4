import { z } from 'zod';
import type { SubscriptionCriteria, SubscriptionFilter } from '../store/store.ts';

/*
 * Magento's searchCriteria, as `GET /V1/async_events?searchCriteria[filter_groups][0][filters][0][field]=…` sends
 * it. Magento accepts both snake_case and camelCase keys (ServiceInputProcessor), so both are listed explicitly
 * instead of being rewritten, which keeps the schema honest in /openapi.json.
 */

export const FILTER_FIELDS = ['subscription_id', 'event_name', 'recipient_url', 'status', 'subscribed_at', 'modified', 'metadata', 'store_id'] as const satisfies readonly SubscriptionFilter['field'][];
export const CONDITION_TYPES = ['eq', 'neq', 'like', 'nlike', 'in', 'nin', 'gt', 'gteq', 'lt', 'lteq', 'null', 'notnull', 'from', 'to', 'finset'] as const satisfies readonly SubscriptionFilter['condition'][];

const MAX_PAGE_SIZE = 10_000;

const indexKey = z.string().regex(/^\d{1,4}$/, 'must be a numeric index such as [0]');
const field = z.enum(FILTER_FIELDS, { error: `must be one of ${FILTER_FIELDS.join(', ')}` });
const condition = z.enum(CONDITION_TYPES, { error: `must be one of ${CONDITION_TYPES.join(', ')}` });
const positiveInt = (max: number) =>
  z.string().regex(/^[1-9]\d*$/, 'must be a whole number greater than 0').refine((v) => Number(v) <= max, `must be at most ${max}`);

const filterSchema = z.strictObject({
  field,
  value: z.string().optional(),
  condition_type: condition.optional(),
  conditionType: condition.optional(),
}).superRefine((filter, ctx) => {
  const type = filter.condition_type ?? filter.conditionType ?? 'eq';
  if (filter.value === undefined && type !== 'null' && type !== 'notnull') {
    ctx.addIssue({ code: 'custom', path: ['value'], message: `is required with condition_type "${type}"` });
  }
});

const filterGroupSchema = z.strictObject({ filters: z.record(indexKey, filterSchema) });

const sortOrderSchema = z.strictObject({
  field,
  direction: z.string().regex(/^(asc|desc)$/i, 'must be ASC or DESC').optional(),
});

const criteriaObject = z.strictObject({
  filter_groups: z.record(indexKey, filterGroupSchema).optional(),
  filterGroups: z.record(indexKey, filterGroupSchema).optional(),
  sort_orders: z.record(indexKey, sortOrderSchema).optional(),
  sortOrders: z.record(indexKey, sortOrderSchema).optional(),
  page_size: positiveInt(MAX_PAGE_SIZE).optional(),
  pageSize: positiveInt(MAX_PAGE_SIZE).optional(),
  current_page: positiveInt(1_000_000).optional(),
  currentPage: positiveInt(1_000_000).optional(),
});

/** The `searchCriteria` query parameter: empty (`searchCriteria=`) or nested keys. */
export const searchCriteriaSchema = z
  .union([z.literal(''), criteriaObject], { error: 'must be empty or given as nested keys such as searchCriteria[pageSize]=20' })
  .optional();

export type SearchCriteriaInput = z.output<typeof searchCriteriaSchema>;

/** What Magento echoes back as `search_criteria` (null members are left out, as its output processor does). */
export interface SearchCriteriaEcho {
  filter_groups: { filters: { field: string; value: string; condition_type: string }[] }[];
  sort_orders?: { field: string; direction: string }[];
  page_size?: number;
  current_page?: number;
}

export const searchCriteriaEchoSchema = z.object({
  filter_groups: z.array(z.object({ filters: z.array(z.object({ field: z.string(), value: z.string(), condition_type: z.string() })) })),
  sort_orders: z.array(z.object({ field: z.string(), direction: z.string() })).optional(),
  page_size: z.number().int().optional(),
  current_page: z.number().int().optional(),
});

/** Index-keyed records in index order (`[2]` before `[10]`). */
function ordered<T>(record: Readonly<Record<string, T>> | undefined): T[] {
  if (!record) return [];
  return Object.entries(record)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, value]) => value);
}

/** Turns the validated query into the store's criteria plus Magento's echo of it. */
export function toSubscriptionCriteria(input: SearchCriteriaInput): { criteria: SubscriptionCriteria; echo: SearchCriteriaEcho } {
  if (input === undefined || input === '') return { criteria: {}, echo: { filter_groups: [] } };
  const groups = ordered(input.filter_groups ?? input.filterGroups).map((group) =>
    ordered(group.filters).map((f) => ({ field: f.field, condition: f.condition_type ?? f.conditionType ?? 'eq', value: f.value ?? '' })),
  );
  const sorts = ordered(input.sort_orders ?? input.sortOrders).map((s) => ({
    field: s.field,
    direction: (s.direction ?? 'ASC').toUpperCase() as 'ASC' | 'DESC',
  }));
  const pageSizeText = input.page_size ?? input.pageSize;
  const currentPageText = input.current_page ?? input.currentPage;
  const pageSize = pageSizeText === undefined ? undefined : Number(pageSizeText);
  const currentPage = currentPageText === undefined ? undefined : Number(currentPageText);
  const criteria: SubscriptionCriteria = {
    ...(groups.length > 0 ? { filterGroups: groups } : {}),
    ...(sorts.length > 0 ? { sortOrders: sorts } : {}),
    ...(pageSize !== undefined ? { pageSize } : {}),
    ...(currentPage !== undefined ? { currentPage } : {}),
  };
  const echo: SearchCriteriaEcho = {
    filter_groups: groups.map((filters) => ({ filters: filters.map((f) => ({ field: f.field, value: f.value, condition_type: f.condition })) })),
    ...(sorts.length > 0 ? { sort_orders: sorts.map((s) => ({ field: s.field, direction: s.direction })) } : {}),
    ...(pageSize !== undefined ? { page_size: pageSize } : {}),
    ...(currentPage !== undefined ? { current_page: currentPage } : {}),
  };
  return { criteria, echo };
}
