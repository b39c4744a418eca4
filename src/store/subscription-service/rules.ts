import type { ErrorCode } from '../../errors.ts';
import type { EventRegistry } from '../../types.ts';
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
  readonly touched: ReadonlySet<SubscriptionField>;
}

/** A check beyond the field schema; returns every problem it finds (none when the candidate passes). */
export type SubscriptionRule = (candidate: Candidate, context: RuleContext) => readonly FieldProblem[];

function listSome(names: readonly string[]): string {
  const shown = names.slice(0, 20).join(', ');
  return names.length > 20 ? `${shown}, … (${names.length} in all)` : shown || '(none)';
}

export const eventDeclared: SubscriptionRule = (candidate, { events }) => {
  if (!candidate.touched.has('eventName') || events.has(candidate.eventName)) return [];
  const known = listSome([...events.keys()].sort());
  return [{ field: 'eventName', code: 'EVENT_UNKNOWN', reason: `no async event "${candidate.eventName}" is declared in any enabled etc/async_events.xml (names are case-sensitive); known events: ${known}` }];
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

/** Every rule, in the order their problems are reported. Extend here (filters, headers, rate limits…). */
export const SUBSCRIPTION_RULES: readonly SubscriptionRule[] = [eventDeclared, sinkUsable, recipientSuitsSink];
