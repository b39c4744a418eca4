import { AsyncEventsError, isAsyncEventsError } from '../../errors.ts';
import type { NewSubscription, SubscriptionPatch } from '../../store/store.ts';
import type { EventRegistry, Subscription } from '../../types.ts';
import { inputError } from './errors.ts';

/*
 * The same rules as REST: the event must be declared in an async_events.xml, the sink must be registered, an http
 * recipient must be an http(s) URL. Each refusal names the input field, and nothing is written before every field
 * has passed.
 */

export interface SubscribeInput {
  readonly eventName: string;
  readonly recipientUrl: string;
  readonly verificationToken: string;
  readonly sink?: string | null;
  readonly storeId?: number | null;
}

export interface UpdateSubscriptionInput {
  readonly recipientUrl?: string | null;
  readonly verificationToken?: string | null;
  readonly sink?: string | null;
  readonly active?: boolean | null;
  readonly storeId?: number | null;
}

export interface SubscriptionRules {
  readonly events: EventRegistry;
  readonly sinkKeys: readonly string[];
}

/** `recipient_url` is varchar(1024) in upstream 4.x. */
const MAX_RECIPIENT_LENGTH = 1024;
/** `store_id` is smallint unsigned. */
const MAX_STORE_ID = 65535;

export function newSubscriptionFromInput(input: SubscribeInput, rules: SubscriptionRules): NewSubscription {
  const sink = checkSink(input.sink ?? 'http', rules);
  checkEventName(input.eventName, rules);
  const problem = recipientProblem(input.recipientUrl, sink);
  if (problem !== undefined) throw inputError('input.recipientUrl', problem);
  checkToken(input.verificationToken);
  const storeId = checkStoreId(input.storeId ?? 0);
  return { eventName: input.eventName, recipientUrl: input.recipientUrl, verificationToken: input.verificationToken, metadata: sink, storeId, active: true };
}

export function patchFromInput(input: UpdateSubscriptionInput, current: Subscription, rules: SubscriptionRules): SubscriptionPatch {
  const sink = input.sink == null ? current.metadata : checkSink(input.sink, rules);
  // A new sink may not accept the recipient the subscription already has, so the pair is checked together.
  if (input.recipientUrl != null) {
    const problem = recipientProblem(input.recipientUrl, sink);
    if (problem !== undefined) throw inputError('input.recipientUrl', problem);
  } else if (sink !== current.metadata) {
    const problem = recipientProblem(current.recipientUrl, sink);
    if (problem !== undefined) throw inputError('input.sink', `the current recipientUrl does not suit sink "${sink}" (${problem}); change recipientUrl too`);
  }
  if (input.verificationToken != null) checkToken(input.verificationToken);
  const patch: { -readonly [K in keyof SubscriptionPatch]: SubscriptionPatch[K] } = {};
  if (input.recipientUrl != null) patch.recipientUrl = input.recipientUrl;
  if (input.verificationToken != null) patch.verificationToken = input.verificationToken;
  if (input.sink != null) patch.metadata = sink;
  if (input.active != null) patch.active = input.active;
  if (input.storeId != null) patch.storeId = checkStoreId(input.storeId);
  return patch;
}

function checkEventName(eventName: string, rules: SubscriptionRules): void {
  if (eventName.trim() === '') throw inputError('input.eventName', 'must not be empty');
  if (!rules.events.has(eventName)) {
    throw inputError('input.eventName', `"${eventName}" is not declared in any async_events.xml (names are case-sensitive)`, 'EVENT_UNKNOWN');
  }
}

function checkSink(sink: string, rules: SubscriptionRules): string {
  if (!rules.sinkKeys.includes(sink)) {
    throw inputError('input.sink', `"${sink}" is not a known sink; known sinks: ${rules.sinkKeys.join(', ') || 'none'}`, 'SINK_UNKNOWN');
  }
  return sink;
}

/** Why the recipient does not suit the sink, or undefined when it does. */
function recipientProblem(recipientUrl: string, sink: string): string | undefined {
  if (recipientUrl.trim() === '') return 'must not be empty';
  if (recipientUrl.length > MAX_RECIPIENT_LENGTH) return `must be at most ${MAX_RECIPIENT_LENGTH} characters, got ${recipientUrl.length}`;
  if (sink !== 'http') return undefined;
  let url: URL;
  try {
    url = new URL(recipientUrl);
  } catch {
    return `"${recipientUrl}" is not an absolute URL; the http sink needs one like https://example.com/webhook`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `the http sink delivers to http:// or https:// URLs, not ${url.protocol}//`;
  if (url.hostname === '') return `"${recipientUrl}" has no host`;
  return undefined;
}

function checkToken(token: string): void {
  // Deliveries are signed with the token; an empty key would make every signature forgeable.
  if (token === '') throw inputError('input.verificationToken', 'must not be empty');
}

function checkStoreId(storeId: number): number {
  if (!Number.isInteger(storeId) || storeId < 0 || storeId > MAX_STORE_ID) {
    throw inputError('input.storeId', `must be a store id between 0 and ${MAX_STORE_ID}, got ${storeId}`);
  }
  return storeId;
}

const INPUT_FIELD_OF_COLUMN: Readonly<Record<string, string>> = {
  event_name: 'input.eventName',
  recipient_url: 'input.recipientUrl',
  verification_token: 'input.verificationToken',
  metadata: 'input.sink',
  store_id: 'input.storeId',
};

/**
 * Runs a store write, naming a column the store refused (e.g. a token too long once encrypted) by the input
 * field the client wrote.
 */
export async function withInputFieldNames<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (thrown) {
    const column = isAsyncEventsError(thrown, 'VALIDATION_FAILED') ? thrown.details.field : undefined;
    const field = typeof column === 'string' ? INPUT_FIELD_OF_COLUMN[column] : undefined;
    if (!field || !isAsyncEventsError(thrown)) throw thrown;
    const reason = thrown.message.startsWith(`${column}: `) ? thrown.message.slice(`${column}: `.length) : thrown.message;
    throw new AsyncEventsError('VALIDATION_FAILED', `Invalid value of "${field}": ${reason}`, { field }, { cause: thrown });
  }
}
