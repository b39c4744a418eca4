import { createHash } from 'node:crypto';
import type { Subscription } from '../types.ts';

/*
 * What `ordering: "entity"` orders by: the entity of a trigger is its service arguments (`{"id": 42}`: order 42), so
 * `created` and `updated` of one order are one entity's events.
 */

/** The entity of a trigger: its service arguments, keys sorted at every level so that equal arguments are equal text. */
export function entityKey(args: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonicalJson(args)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Whether the subscription's chains wait for the earlier chains of their entity (ordered-chains.ts). */
export function isOrdered(subscription: Subscription): boolean {
  return subscription.rules?.ordering === 'entity';
}
