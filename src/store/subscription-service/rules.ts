import { isAsyncEventsError, type ErrorCode } from '../../errors.ts';
import { parseFieldSelection } from '../../magento/fields-selection.ts';
import { parseEventPattern, type EventPattern } from '../../search/event-pattern.ts';
import { parseQuery } from '../../search/query.ts';
import { extraHeaderProblems } from '../../sinks/extra-headers.ts';
import type { EventRegistry, SubscriptionRules } from '../../types.ts';
import type { SubscriptionField } from './input.ts';

/** One thing wrong with a request, named by its field. */
export interface FieldProblem {
  readonly field: SubscriptionField;
  readonly code: ErrorCode;
  readonly reason: string;
}

export interface SinkState {
  readonly key: string;
  readonly usable: boolean;
  readonly reason?: string;
}

/** What the rules may consult besides the request. */
export interface RuleContext {
  readonly events: EventRegistry;
  readonly sinks: readonly SinkState[];
  /** Why a recipient URL may not be delivered to (e.g. a private IP literal), or undefined when it may. */
  readonly recipientRefusal?: ((url: URL) => string | undefined) | undefined;
}

/**
 * The subscription as it would be after the request, and which fields the request set (every field for a new
 * subscription). A rule judges only what the request touches, so an old subscription whose sink became unusable
 * can still be switched off.
 */
export interface Candidate {
  readonly eventName: string;
  readonly recipientUrl: string;
  readonly sink: string;
  readonly storeId: number;
  readonly active: boolean;
  /** The rules as they would be (a removed rule is absent). */
  readonly rules: SubscriptionRules;
  readonly touched: ReadonlySet<SubscriptionField>;
}

/** A check beyond the field schema; returns every problem it finds (none when the candidate passes). */
export type SubscriptionRule = (candidate: Candidate, context: RuleContext) => readonly FieldProblem[];

function listSome(names: readonly string[]): string {
  const shown = names.slice(0, 20).join(', ');
  return names.length > 20 ? `${shown}, … (${names.length} in all)` : shown || '(none)';
}

/** The event pattern of an event_name with a wildcard, or undefined for a plain name; throws on a broken pattern. */
export function eventPatternOf(eventName: string): EventPattern | undefined {
  if (!eventName.includes('*') && !eventName.includes('?')) return undefined;
  const pattern = parseEventPattern(eventName);
  return pattern.wildcard ? pattern : undefined;
}

/** The declared events an event_name covers: itself, or every event its pattern matches. */
export function coveredEvents(eventName: string, events: EventRegistry): string[] {
  if (events.has(eventName)) return [eventName];
  let pattern: EventPattern | undefined;
  try {
    pattern = eventPatternOf(eventName);
  } catch {
    return [];
  }
  return pattern ? [...events.keys()].filter((name) => pattern.matches(name)).sort() : [];
}

/**
 * A declared event, or a pattern in the search syntax's wildcard form (`sales.order.*`, `*.created`, `*`) that
 * matches at least one declared event now: a pattern matching none is refused as an unknown name is.
 */
export const eventDeclared: SubscriptionRule = (candidate, { events }) => {
  if (!candidate.touched.has('eventName') || events.has(candidate.eventName)) return [];
  const known = listSome([...events.keys()].sort());
  let pattern: EventPattern | undefined;
  try {
    pattern = eventPatternOf(candidate.eventName);
  } catch (error) {
    const reason = isAsyncEventsError(error) ? error.message : String(error);
    return [{ field: 'eventName', code: 'VALIDATION_FAILED', reason }];
  }
  if (pattern && coveredEvents(candidate.eventName, events).length > 0) return [];
  if (pattern) {
    return [{ field: 'eventName', code: 'EVENT_UNKNOWN', reason: `the pattern "${candidate.eventName}" matches no async event declared in any enabled etc/async_events.xml (names are case-sensitive); known events: ${known}` }];
  }
  return [{ field: 'eventName', code: 'EVENT_UNKNOWN', reason: `no async event "${candidate.eventName}" is declared in any enabled etc/async_events.xml (names are case-sensitive); known events: ${known}` }];
};

/** The filter parses in the search syntax over the fields a filter may read; a mistake is named with its position. */
export const filterParses: SubscriptionRule = (candidate) => {
  const filter = candidate.rules.filter;
  if (!candidate.touched.has('filter') || filter === undefined) return [];
  try {
    parseQuery(filter, { fields: 'filter' });
    return [];
  } catch (error) {
    if (!isAsyncEventsError(error, 'QUERY_SYNTAX')) throw error;
    return [{ field: 'filter', code: 'VALIDATION_FAILED', reason: `is not a valid query: ${error.message}` }];
  }
};

/** Magento's REST `fields` syntax, with the position of a mistake (Magento itself would silently answer `[]`). */
export const fieldsParse: SubscriptionRule = (candidate) => {
  const fields = candidate.rules.fields;
  if (!candidate.touched.has('fields') || fields === undefined) return [];
  try {
    parseFieldSelection(fields);
    return [];
  } catch (error) {
    if (!isAsyncEventsError(error, 'VALIDATION_FAILED')) throw error;
    return [{ field: 'fields', code: 'VALIDATION_FAILED', reason: error.message.replace(/^fields "[^"]*" /, '') }];
  }
};

/** Header names of letters, digits and `-`, none the sink sets itself; only the http sink sends them. */
export const headersAllowed: SubscriptionRule = (candidate) => {
  const headers = candidate.rules.headers;
  if ((!candidate.touched.has('headers') && !candidate.touched.has('sink')) || headers === undefined || Object.keys(headers).length === 0) return [];
  if (candidate.sink !== 'http') {
    return [{ field: candidate.touched.has('headers') ? 'headers' : 'sink', code: 'VALIDATION_FAILED', reason: `extra headers are sent by the http sink only, not by "${candidate.sink}"` }];
  }
  if (!candidate.touched.has('headers')) return [];
  return extraHeaderProblems(headers).map((problem) => ({ field: 'headers', code: 'VALIDATION_FAILED', reason: problem.field === 'headers' ? problem.message : `${problem.field}: ${problem.message}` }));
};

export const sinkUsable: SubscriptionRule = (candidate, { sinks }) => {
  if (!candidate.touched.has('sink')) return [];
  const sink = sinks.find((s) => s.key === candidate.sink);
  if (!sink) return [{ field: 'sink', code: 'SINK_UNKNOWN', reason: `unknown sink "${candidate.sink}"; known sinks: ${listSome(sinks.map((s) => s.key))}` }];
  if (!sink.usable) return [{ field: 'sink', code: 'SINK_NOT_CONFIGURED', reason: `sink "${sink.key}" cannot deliver now: ${sink.reason ?? 'not configured'}` }];
  return [];
};

/** Why the URL does not suit the http sink, or undefined when it does. */
function httpRecipientProblem(recipientUrl: string, refusal: RuleContext['recipientRefusal']): { code: ErrorCode; reason: string } | undefined {
  let url: URL;
  try {
    url = new URL(recipientUrl);
  } catch {
    return { code: 'VALIDATION_FAILED', reason: `"${recipientUrl}" is not an absolute URL; the http sink needs an http:// or https:// URL such as https://example.com/webhook` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { code: 'VALIDATION_FAILED', reason: `"${recipientUrl}" is not an absolute http:// or https:// URL, which the http sink needs (not ${url.protocol}//)` };
  if (url.hostname === '') return { code: 'VALIDATION_FAILED', reason: `"${recipientUrl}" has no host` };
  // Credentials in the URL would be sent to every redirect target and shown wherever the URL is listed.
  if (url.username !== '' || url.password !== '') {
    return { code: 'VALIDATION_FAILED', reason: 'must not contain credentials (user:password@); deliveries are signed with the verification token instead' };
  }
  const refused = refusal?.(url);
  return refused === undefined ? undefined : { code: 'TARGET_FORBIDDEN', reason: refused };
}

/**
 * The http sink needs an absolute http(s) URL without credentials whose host the address guard allows; other sinks
 * take their own kind of recipient (a bus name, a queue URL). A sink changed alone must still suit the stored URL.
 */
export const recipientSuitsSink: SubscriptionRule = (candidate, { recipientRefusal }) => {
  const recipientTouched = candidate.touched.has('recipientUrl');
  if ((!recipientTouched && !candidate.touched.has('sink')) || candidate.sink !== 'http') return [];
  const problem = httpRecipientProblem(candidate.recipientUrl, recipientRefusal);
  if (problem === undefined) return [];
  if (recipientTouched) return [{ field: 'recipientUrl', ...problem }];
  return [{ field: 'sink', code: problem.code, reason: `the current recipient URL does not suit sink "${candidate.sink}" (${problem.reason}); change recipientUrl too` }];
};

/** Every rule, in the order their problems are reported. Extend here. `maxPerSecond` needs no more than its schema. */
export const SUBSCRIPTION_RULES: readonly SubscriptionRule[] = [eventDeclared, sinkUsable, recipientSuitsSink, filterParses, fieldsParse, headersAllowed];
