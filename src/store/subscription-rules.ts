import type { Kysely, Selectable, Transaction } from 'kysely';
import { AsyncEventsError } from '../errors.ts';
import { parseEventPattern, type EventPattern } from '../search/event-pattern.ts';
import { SUBSCRIPTION_ORDERINGS, type SubscriptionOrdering, type SubscriptionRules } from '../types.ts';
import type { AsyncEventSubscriptionRuleTable, Database } from './schema.ts';
import type { SubscriptionRulesPatch } from './store.ts';

/*
 * Our per-subscription rules (filter, fields, headers, max_per_second, ordering), one row beside upstream's
 * `async_event_subscriber` row, which keeps its shape. A subscription without any rule has no row.
 *
 * The event pattern is not here: a wildcard (`sales.order.*`) sits in upstream's own `event_name` column. That
 * column is what every reader of subscriptions already shows and filters by (Magento's admin grid, searchCriteria,
 * the console), so a pattern reads as what it is there; a copy here would have to name some concrete event in
 * `event_name` (NOT NULL) and would lie about it. Upstream's PHP consumer compares names exactly, so a pattern row
 * never matches there, and it delivers nothing extra.
 */

type Row = Selectable<AsyncEventSubscriptionRuleTable>;

const TEXT_LIMIT = 65535;

export function toRules(row: Row | undefined): SubscriptionRules {
  if (row === undefined) return {};
  const rules: { -readonly [K in keyof SubscriptionRules]: SubscriptionRules[K] } = {};
  if (row.filter !== null) rules.filter = row.filter;
  if (row.fields !== null) rules.fields = row.fields;
  if (row.headers !== null) rules.headers = parseHeaders(row.headers);
  if (row.max_per_second !== null) rules.maxPerSecond = Number(row.max_per_second);
  if (isOrdering(row.ordering)) rules.ordering = row.ordering;
  return rules;
}

// A value written by hand that we do not know orders nothing, rather than failing every read.
function isOrdering(value: string | null): value is SubscriptionOrdering {
  return (SUBSCRIPTION_ORDERINGS as readonly (string | null)[]).includes(value);
}

function parseHeaders(text: string): Readonly<Record<string, string>> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    }
  } catch {
    // A row written by hand with broken JSON sends no extra headers rather than failing every read.
  }
  return {};
}

/** The rules of these subscriptions, by id (an empty object for one without a row). */
export async function readRules(db: Kysely<Database>, ids: readonly number[]): Promise<Map<number, SubscriptionRules>> {
  const found = new Map<number, SubscriptionRules>();
  if (ids.length === 0) return found;
  // Chunks keep the IN list well inside every engine's limit on bound parameters.
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('async_event_subscription_rule').selectAll().where('subscription_id', 'in', ids.slice(i, i + 500)).execute();
    for (const row of rows) found.set(Number(row.subscription_id), toRules(row));
  }
  return found;
}

function invalid(field: string, message: string): AsyncEventsError {
  return new AsyncEventsError('VALIDATION_FAILED', `${field}: ${message}`, { field });
}

function text(field: string, value: string | null): string | null {
  if (value !== null && value.length > TEXT_LIMIT) throw invalid(field, `is ${value.length} characters long; at most ${TEXT_LIMIT} fit the column`);
  return value;
}

/** Applies a patch to the subscription's rules inside the caller's transaction. */
export async function writeRules(trx: Transaction<Database>, subscriptionId: number, patch: SubscriptionRulesPatch | undefined): Promise<void> {
  if (patch === undefined || Object.values(patch).every((value) => value === undefined)) return;
  const current = await trx.selectFrom('async_event_subscription_rule').selectAll().where('subscription_id', '=', subscriptionId).executeTakeFirst();
  const pick = <K extends keyof SubscriptionRulesPatch, T>(key: K, stored: T | null, encode: (value: NonNullable<SubscriptionRulesPatch[K]>) => T): T | null => {
    const value = patch[key];
    if (value === undefined) return stored;
    return value === null ? null : encode(value as NonNullable<SubscriptionRulesPatch[K]>);
  };
  const row: Row = {
    subscription_id: subscriptionId,
    filter: text('filter', pick('filter', current?.filter ?? null, (v) => v)),
    fields: text('fields', pick('fields', current?.fields ?? null, (v) => v)),
    headers: text('headers', pick('headers', current?.headers ?? null, (v) => (Object.keys(v).length === 0 ? null : JSON.stringify(v))) ?? null),
    max_per_second: pick('maxPerSecond', current?.max_per_second === undefined || current.max_per_second === null ? null : Number(current.max_per_second), (v) => v),
    ordering: pick('ordering', current?.ordering ?? null, (v) => v),
  };
  await trx.deleteFrom('async_event_subscription_rule').where('subscription_id', '=', subscriptionId).execute();
  if (row.filter !== null || row.fields !== null || row.headers !== null || row.max_per_second !== null || row.ordering !== null) {
    await trx.insertInto('async_event_subscription_rule').values(row).execute();
  }
}

/** Whether a stored event_name may be a pattern: only those are parsed (and cached) by `patternMatches`. */
export function mayBePattern(eventName: string): boolean {
  return eventName.includes('*') || eventName.includes('?');
}

const patterns = new Map<string, EventPattern | null>();

/** Whether a stored event_name (a name or a pattern) covers the event; a text that is no pattern matches nothing. */
export function patternMatches(stored: string, eventName: string): boolean {
  if (stored === eventName) return true;
  if (!mayBePattern(stored)) return false;
  let pattern = patterns.get(stored);
  if (pattern === undefined) {
    try {
      pattern = parseEventPattern(stored);
    } catch {
      pattern = null;
    }
    if (patterns.size > 1000) patterns.clear();
    patterns.set(stored, pattern);
  }
  return pattern?.matches(eventName) ?? false;
}
