import type { z } from 'zod';
import type { EventAccess } from '../../config/event-access.ts';
import { AsyncEventsError, isAsyncEventsError } from '../../errors.ts';
import type { EventRegistry, Principal, Subscription, SubscriptionRules } from '../../types.ts';
import type { Store, SubscriptionPatch, SubscriptionRulesPatch } from '../store.ts';
import {
  RULE_FIELDS,
  newSubscriptionSchema,
  subscriptionChangeSchema,
  type NewSubscriptionInput,
  type SubscriptionChangeInput,
  type SubscriptionField,
  type ValidNewSubscription,
} from './input.ts';
import { readHealth, type HealthSource, type SubscriptionHealth } from './health.ts';
import { SUBSCRIPTION_RULES, coveredEvents, type Candidate, type FieldProblem, type RuleContext, type SinkState, type SubscriptionRule } from './rules.ts';
import { DEFAULT_TOKEN_ROTATION, keepReplacedToken, type TokenRotation } from './token-rotation.ts';

export type { FieldProblem, SinkState, SubscriptionRule } from './rules.ts';
export type { NewSubscriptionInput, SubscriptionChangeInput, SubscriptionField } from './input.ts';
export type { TokenRotation } from './token-rotation.ts';
export type { HealthSource, HealthStatus, SubscriptionHealth } from './health.ts';
export { coveredEvents } from './rules.ts';

/*
 * The one place subscriptions are created, changed and deleted: REST, GraphQL and (through REST) the console call
 * it, so every rule exists once. A request is checked in this order, and nothing is written unless all pass:
 * the field schema (input.ts), the rules (rules.ts), then the caller's right to the event (EventAccess).
 * Refusals are AsyncEventsErrors whose details hold `problems` (each naming a field in the domain's words) or,
 * for FORBIDDEN, the resources missing; interfaces rename the fields into their own wire names.
 */

export interface SubscriptionService {
  /** Checks a new subscription without writing it; resolves to the values that would be stored. */
  validate(input: NewSubscriptionInput): Promise<ValidNewSubscription>;
  create(caller: Principal, input: NewSubscriptionInput): Promise<Subscription>;
  /** Changes the given fields; a change that names none is refused. */
  update(caller: Principal, id: number, change: SubscriptionChangeInput): Promise<Subscription>;
  delete(caller: Principal, id: number): Promise<void>;
  /**
   * Throws FORBIDDEN unless the caller may subscribe to (and so receive the data of) the event, or of every
   * declared event a pattern matches now.
   */
  authorize(caller: Principal, eventName: string): Promise<void>;
  /** The delivery health of one subscription (SUBSCRIPTION_NOT_FOUND when there is none). */
  health(id: number): Promise<SubscriptionHealth>;
  /** The health of each of these subscriptions (a listing's), by id. */
  healthOf(subscriptions: readonly Subscription[]): Promise<Map<number, SubscriptionHealth>>;
}

export interface SubscriptionServiceOptions {
  readonly store: Pick<Store, 'subscriptions' | 'previousTokens' | 'health'>;
  /** The running sidecar's health tracker: pending figures, attempts in flight, its clock. */
  readonly health?: HealthSource | undefined;
  readonly events: () => EventRegistry;
  readonly sinks: () => Promise<readonly SinkState[]>;
  readonly access: EventAccess;
  /** The address guard's verdict on a recipient URL, checked when it is saved (the sink checks again at connect time). */
  readonly recipientRefusal?: ((url: URL) => string | undefined) | undefined;
  /** Defaults to SUBSCRIPTION_RULES. */
  readonly rules?: readonly SubscriptionRule[];
  /**
   * The trigger queue's publish-order reader (queue/transport.ts `enablePublishOrder`): started before the first
   * ordering=entity subscription is saved, so that no trigger published after it is missed. Required for ordering.
   */
  readonly publishOrder?: { enable(): Promise<void> } | undefined;
  /** How long a replaced token keeps signing (token-rotation.ts); default 24 hours. */
  readonly tokenRotation?: TokenRotation | undefined;
}

/** The problems a refusal carries, or undefined when the error is not a field refusal of this service. */
export function fieldProblems(error: unknown): readonly FieldProblem[] | undefined {
  if (!isAsyncEventsError(error)) return undefined;
  const problems = error.details.problems;
  return Array.isArray(problems) ? (problems as FieldProblem[]) : undefined;
}

function refusal(problems: readonly FieldProblem[]): AsyncEventsError {
  const [first] = problems;
  if (!first) throw new Error('refusal without a problem');
  return new AsyncEventsError(first.code, `Invalid value of "${first.field}": ${first.reason}`, { field: first.field, problems: [...problems] });
}

function notFound(id: number): AsyncEventsError {
  return new AsyncEventsError('SUBSCRIPTION_NOT_FOUND', `Subscription ${id} does not exist`, { field: 'subscriptionId', id });
}

function schemaProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  return issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: key as SubscriptionField, code: 'VALIDATION_FAILED', reason: 'is not a known field' }));
    }
    const field = (issue.path[0] ?? 'subscription') as SubscriptionField;
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    return [{ field, code: 'VALIDATION_FAILED', reason: missing ? 'is required' : issue.message }];
  });
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw refusal(schemaProblems(result.error.issues));
  return result.data;
}

const FIELD_OF_COLUMN: Readonly<Record<string, SubscriptionField>> = {
  event_name: 'eventName',
  recipient_url: 'recipientUrl',
  verification_token: 'verificationToken',
  metadata: 'sink',
  store_id: 'storeId',
};

/** A store write refused for a column (e.g. a token too long once encrypted) becomes a refusal of that field. */
async function write<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (thrown) {
    const column = isAsyncEventsError(thrown, 'VALIDATION_FAILED') ? thrown.details.field : undefined;
    const field = typeof column === 'string' ? FIELD_OF_COLUMN[column] : undefined;
    if (!field || !isAsyncEventsError(thrown)) throw thrown;
    const reason = thrown.message.startsWith(`${column as string}: `) ? thrown.message.slice(`${column as string}: `.length) : thrown.message;
    throw refusal([{ field, code: 'VALIDATION_FAILED', reason }]);
  }
}

/** The rule fields a request gives (null included: it removes the rule), as the store's patch. */
function rulesPatch(valid: { readonly [K in keyof SubscriptionRules]?: SubscriptionRules[K] | null | undefined }): SubscriptionRulesPatch {
  const patch: { -readonly [K in keyof SubscriptionRulesPatch]: SubscriptionRulesPatch[K] } = {};
  if (valid.filter !== undefined) patch.filter = valid.filter;
  if (valid.fields !== undefined) patch.fields = valid.fields;
  if (valid.headers !== undefined) patch.headers = valid.headers;
  if (valid.maxPerSecond !== undefined) patch.maxPerSecond = valid.maxPerSecond;
  if (valid.ordering !== undefined) patch.ordering = valid.ordering;
  return patch;
}

/** The rules after a patch: a value replaces, null (or no headers) removes. */
function applyRules(current: SubscriptionRules, patch: SubscriptionRulesPatch): SubscriptionRules {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null || (key === 'headers' && Object.keys(value as object).length === 0)) delete merged[key];
    else merged[key] = value;
  }
  return merged as SubscriptionRules;
}

export function createSubscriptionService(options: SubscriptionServiceOptions): SubscriptionService {
  const rules = options.rules ?? SUBSCRIPTION_RULES;
  const tokenRotation = options.tokenRotation ?? DEFAULT_TOKEN_ROTATION;
  const { store, access } = options;

  /** A pattern needs the caller's right to every event it covers now; a name no longer declared needs all rights. */
  async function authorize(caller: Principal, eventName: string): Promise<void> {
    const covered = coveredEvents(eventName, options.events());
    if (covered.length === 0) {
      await access.assertAllowed(caller, eventName);
      return;
    }
    for (const name of covered) await access.assertAllowed(caller, name);
  }

  async function checkRules(candidate: Candidate): Promise<void> {
    const context: RuleContext = { events: options.events(), sinks: await options.sinks(), recipientRefusal: options.recipientRefusal };
    const problems = rules.flatMap((rule) => rule(candidate, context));
    if (problems.length > 0) throw refusal(problems);
  }

  async function validate(input: NewSubscriptionInput): Promise<ValidNewSubscription> {
    const valid = parse(newSubscriptionSchema, input);
    await checkRules({
      ...valid,
      rules: applyRules({}, rulesPatch(valid)),
      touched: new Set<SubscriptionField>(['eventName', 'recipientUrl', 'verificationToken', 'sink', 'storeId', 'active', ...RULE_FIELDS]),
    });
    return valid;
  }

  async function enablePublishOrder(): Promise<void> {
    if (!options.publishOrder) throw refusal([{ field: 'ordering', code: 'VALIDATION_FAILED', reason: 'is not available here: this process has no queue to read triggers in publish order from' }]);
    await options.publishOrder.enable();
  }

  async function findOrFail(id: number): Promise<Subscription> {
    const found = await store.subscriptions.get(id);
    if (!found) throw notFound(id);
    return found;
  }

  return {
    validate,
    authorize,

    async health(id) {
      const subscription = await findOrFail(id);
      const found = (await readHealth(store.health, [subscription], options.health)).get(id);
      if (!found) throw notFound(id);
      return found;
    },

    healthOf: (subscriptions) => readHealth(store.health, subscriptions, options.health),

    async create(caller, input) {
      const valid = await validate(input);
      await authorize(caller, valid.eventName);
      const { eventName, recipientUrl, verificationToken, sink, storeId, active } = valid;
      if (valid.ordering) await enablePublishOrder();
      return write(() => store.subscriptions.create({ eventName, recipientUrl, verificationToken, storeId, active, metadata: sink, rules: rulesPatch(valid) }));
    },

    async update(caller, id, change) {
      const current = await findOrFail(id);
      // Who may not touch the event learns nothing more about the request, not even whether it was valid.
      await authorize(caller, current.eventName);
      const valid = parse(subscriptionChangeSchema, change);
      if (valid.eventName !== undefined && valid.eventName !== current.eventName) {
        throw refusal([{ field: 'eventName', code: 'VALIDATION_FAILED', reason: `cannot change from "${current.eventName}"; create a new subscription for "${valid.eventName}" instead` }]);
      }
      const patch: { -readonly [K in keyof SubscriptionPatch]: SubscriptionPatch[K] } = {};
      if (valid.recipientUrl !== undefined) patch.recipientUrl = valid.recipientUrl;
      if (valid.verificationToken !== undefined) patch.verificationToken = valid.verificationToken;
      if (valid.sink !== undefined) patch.metadata = valid.sink;
      if (valid.storeId !== undefined) patch.storeId = valid.storeId;
      if (valid.active !== undefined) patch.active = valid.active;
      const rulesChange = rulesPatch(valid);
      // Chains already in flight were started without (or with) ordering; switching it would release them out of
      // order or hold them behind chains that were never ordered. A request repeating the stored value is fine.
      if (rulesChange.ordering !== undefined) {
        if ((rulesChange.ordering ?? undefined) !== current.rules?.ordering) {
          throw refusal([{ field: 'ordering', code: 'VALIDATION_FAILED', reason: `cannot change after the subscription is created (it is ${current.rules?.ordering ? `"${current.rules.ordering}"` : 'null'}); create a new subscription instead` }]);
        }
        delete (rulesChange as { ordering?: unknown }).ordering;
      }
      if (Object.keys(rulesChange).length > 0) patch.rules = rulesChange;
      if (Object.keys(patch).length === 0) {
        if (valid.eventName !== undefined) return current;
        throw refusal([{ field: 'subscription', code: 'VALIDATION_FAILED', reason: `names nothing to change; send one or more of recipientUrl, verificationToken, sink, storeId, active, ${RULE_FIELDS.join(', ')}` }]);
      }
      const touched = new Set(Object.keys(valid).filter((key) => valid[key as keyof typeof valid] !== undefined) as SubscriptionField[]);
      touched.delete('eventName');
      await checkRules({
        eventName: current.eventName,
        recipientUrl: patch.recipientUrl ?? current.recipientUrl,
        sink: patch.metadata ?? current.metadata,
        storeId: patch.storeId ?? current.storeId,
        active: patch.active ?? current.active,
        rules: applyRules(current.rules ?? {}, rulesChange),
        touched,
      });
      const graceHours = patch.verificationToken === undefined ? undefined : await keepReplacedToken(store, tokenRotation, current, patch.verificationToken);
      let updated: Subscription;
      try {
        updated = await write(() => store.subscriptions.update(id, patch));
      } catch (error) {
        if (isAsyncEventsError(error, 'SUBSCRIPTION_NOT_FOUND')) throw notFound(id);
        throw error;
      }
      if (graceHours !== undefined) tokenRotation.replaced?.(id, graceHours);
      // Enabling again clears why it was disabled and starts the auto-disable count over.
      if (patch.active === true && !current.active) await store.health.clearDisabled(id, options.health?.now() ?? new Date());
      return updated;
    },

    async delete(caller, id) {
      const current = await findOrFail(id);
      await authorize(caller, current.eventName);
      if (!(await store.subscriptions.delete(id))) throw notFound(id);
      await store.health.forget(id);
    },
  };
}
