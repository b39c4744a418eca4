import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { AsyncEventsError } from '../errors.ts';
import type { SubscriptionCriteria, SubscriptionFilter } from './store.ts';

/*
 * Magento's searchCriteria over `async_event_subscriber`, with the condition types of
 * Magento\Framework\DB\Adapter\Pdo\Mysql::prepareSqlCondition: filters of one group are OR-ed, groups are AND-ed;
 * `in`/`nin` take a comma-separated list; `from`/`to` are inclusive bounds; `finset` is FIND_IN_SET.
 */

export const SUBSCRIPTION_FIELDS: readonly SubscriptionFilter['field'][] = [
  'subscription_id', 'event_name', 'recipient_url', 'status', 'subscribed_at', 'modified', 'metadata', 'store_id',
];
const NUMERIC_FIELDS = new Set<string>(['subscription_id', 'status', 'store_id']);
export const CONDITIONS: readonly SubscriptionFilter['condition'][] = [
  'eq', 'neq', 'like', 'nlike', 'in', 'nin', 'gt', 'gteq', 'lt', 'lteq', 'null', 'notnull', 'from', 'to', 'finset',
];

const COMPARISONS: Partial<Record<SubscriptionFilter['condition'], string>> = {
  eq: '=', neq: '!=', like: 'LIKE', nlike: 'NOT LIKE', gt: '>', gteq: '>=', lt: '<', lteq: '<=', from: '>=', to: '<=',
};

function invalid(message: string, where: string): AsyncEventsError {
  return new AsyncEventsError('VALIDATION_FAILED', `${where}: ${message}`, { field: where });
}

/** Numbers for numeric columns so both databases compare numerically; text otherwise. */
function operand(field: string, value: string, where: string): string | number {
  if (!NUMERIC_FIELDS.has(field)) return value;
  const trimmed = value.trim();
  if (!/^-?\d+(\.\d+)?$/.test(trimmed)) throw invalid(`'${value}' is not a number (field ${field} is numeric)`, where);
  return Number(trimmed);
}

function filterSql(filter: SubscriptionFilter, dialect: 'mysql' | 'sqlite', where: string): RawBuilder<SqlBool> {
  if (!SUBSCRIPTION_FIELDS.includes(filter.field)) {
    throw invalid(`unknown field '${String(filter.field)}'; use one of ${SUBSCRIPTION_FIELDS.join(', ')}`, `${where}[field]`);
  }
  const column = sql.ref(filter.field);
  const condition = filter.condition ?? 'eq';
  const value = String(filter.value ?? '');
  const comparison = COMPARISONS[condition];
  if (comparison) {
    const rhs = condition === 'like' || condition === 'nlike' ? value : operand(filter.field, value, `${where}[value]`);
    return sql<SqlBool>`${column} ${sql.raw(comparison)} ${rhs}`;
  }
  switch (condition) {
    case 'in':
    case 'nin': {
      const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
      if (items.length === 0) return condition === 'in' ? sql<SqlBool>`1 = 0` : sql<SqlBool>`1 = 1`;
      const list = items.map((item) => operand(filter.field, item, `${where}[value]`));
      return sql<SqlBool>`${column} ${sql.raw(condition === 'in' ? 'IN' : 'NOT IN')} (${sql.join(list)})`;
    }
    case 'null':
      return sql<SqlBool>`${column} IS NULL`;
    case 'notnull':
      return sql<SqlBool>`${column} IS NOT NULL`;
    case 'finset':
      return dialect === 'mysql'
        ? sql<SqlBool>`FIND_IN_SET(${value}, ${column})`
        : sql<SqlBool>`instr(',' || ${column} || ',', ',' || ${value} || ',') > 0`;
    default:
      throw invalid(`unknown condition_type '${String(condition)}'; use one of ${CONDITIONS.join(', ')}`, `${where}[condition_type]`);
  }
}

/** The WHERE clause of the criteria, or undefined when there are no filters. */
export function criteriaWhere(criteria: SubscriptionCriteria, dialect: 'mysql' | 'sqlite'): RawBuilder<SqlBool> | undefined {
  const groups = (criteria.filterGroups ?? [])
    .map((filters, g) =>
      filters.map((filter, f) => filterSql(filter, dialect, `searchCriteria[filter_groups][${g}][filters][${f}]`)),
    )
    .filter((group) => group.length > 0)
    .map((group) => sql<SqlBool>`(${sql.join(group, sql` OR `)})`);
  if (groups.length === 0) return undefined;
  return sql<SqlBool>`(${sql.join(groups, sql` AND `)})`;
}

export function criteriaOrder(criteria: SubscriptionCriteria): { field: SubscriptionFilter['field']; direction: 'asc' | 'desc' }[] {
  return (criteria.sortOrders ?? []).map((order, i) => {
    if (!SUBSCRIPTION_FIELDS.includes(order.field)) {
      throw invalid(`unknown field '${String(order.field)}'`, `searchCriteria[sortOrders][${i}][field]`);
    }
    const direction = String(order.direction ?? 'ASC').toUpperCase();
    if (direction !== 'ASC' && direction !== 'DESC') {
      throw invalid(`direction must be ASC or DESC, not '${String(order.direction)}'`, `searchCriteria[sortOrders][${i}][direction]`);
    }
    return { field: order.field, direction: direction === 'ASC' ? 'asc' : 'desc' };
  });
}

/** Magento paging: pageSize rows from page currentPage (1-based); no pageSize means every row. */
export function criteriaPage(criteria: SubscriptionCriteria): { limit: number; offset: number } | undefined {
  if (criteria.pageSize === undefined || criteria.pageSize === null) return undefined;
  const pageSize = Number(criteria.pageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1) throw invalid(`must be a positive integer, not '${String(criteria.pageSize)}'`, 'searchCriteria[pageSize]');
  const page = criteria.currentPage === undefined || criteria.currentPage === null ? 1 : Number(criteria.currentPage);
  if (!Number.isInteger(page) || page < 1) throw invalid(`must be a positive integer, not '${String(criteria.currentPage)}'`, 'searchCriteria[currentPage]');
  return { limit: pageSize, offset: (page - 1) * pageSize };
}
