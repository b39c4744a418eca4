import { AsyncEventsError } from '../../errors.ts';
import type { SubscriptionCriteria } from '../../store/store.ts';
import type { Subscription, SubscriptionOrdering } from '../../types.ts';
import { serviceArguments } from '../../magento/service-arguments.ts';
import type { ApiDependencies, AttemptEvent, Principal } from '../dependencies.ts';
import { inputError, withErrorCodes } from './errors.ts';
import type { LiveFeeds } from './live-feed.ts';
import { pageFromArgs } from './paging.ts';
import { parkedLimit, parkedNode, redriveSelection } from './parked.ts';
import { replayMatching } from './replay-query.ts';
import type { SubscriptionField, SubscriptionHealth } from '../../store/subscription-service/index.ts';
import { assertMayTouchDelivery, servicesOf, toGraphqlInputError } from '../services.ts';
import { buildTrace } from './trace.ts';

/** What every resolver knows about the request: who is calling (already authenticated). */
export interface GraphqlContext {
  readonly principal: Principal;
}

interface PageArgs {
  readonly first?: number | null;
  readonly offset?: number | null;
}

const MAX_SUBSCRIPTION_ID = 4_294_967_295;

/** The GraphQL input types of schemas/async-events.graphql; every check on them is the subscription service's. */
interface SubscribeInput {
  readonly eventName: string;
  readonly recipientUrl: string;
  readonly verificationToken: string;
  readonly sink?: string | null;
  readonly storeId?: number | null;
  readonly filter?: string | null;
  readonly fields?: string | null;
  readonly headers?: readonly HeaderInput[] | null;
  readonly maxPerSecond?: number | null;
  readonly ordering?: GraphqlOrdering | null;
}

/** The enum SubscriptionOrdering: GraphQL's spelling of the service's orderings. */
type GraphqlOrdering = 'ENTITY';
const ORDERING_OF: Readonly<Record<GraphqlOrdering, SubscriptionOrdering>> = { ENTITY: 'entity' };
const GRAPHQL_ORDERING: Readonly<Record<SubscriptionOrdering, GraphqlOrdering>> = { entity: 'ENTITY' };

interface HeaderInput {
  readonly name: string;
  readonly value: string;
}

/** Rules as given: left out (undefined) keeps a rule on update, null removes it. */
function graphqlRules(input: Pick<SubscribeInput, 'filter' | 'fields' | 'headers' | 'maxPerSecond' | 'ordering'>) {
  return {
    ...(input.filter !== undefined ? { filter: input.filter } : {}),
    ...(input.fields !== undefined ? { fields: input.fields } : {}),
    ...(input.headers !== undefined ? { headers: input.headers === null ? null : headerObject(input.headers) } : {}),
    ...(input.maxPerSecond !== undefined ? { maxPerSecond: input.maxPerSecond } : {}),
    ...(input.ordering !== undefined ? { ordering: input.ordering === null ? null : ORDERING_OF[input.ordering] } : {}),
  };
}

/** A list of headers as the object the service checks; the same name twice is refused here (an object cannot hold it), names differing in case by the service. */
function headerObject(headers: readonly HeaderInput[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (const { name, value } of headers) {
    if (Object.hasOwn(object, name)) throw inputError('input.headers', `header "${name}" is given twice`);
    object[name] = value;
  }
  return object;
}

interface UpdateSubscriptionInput {
  readonly recipientUrl?: string | null;
  readonly verificationToken?: string | null;
  readonly sink?: string | null;
  readonly active?: boolean | null;
  readonly storeId?: number | null;
  readonly filter?: string | null;
  readonly fields?: string | null;
  readonly headers?: readonly HeaderInput[] | null;
  readonly maxPerSecond?: number | null;
  readonly ordering?: GraphqlOrdering | null;
}

const GRAPHQL_FIELD: Readonly<Record<SubscriptionField, string>> = {
  eventName: 'input.eventName',
  recipientUrl: 'input.recipientUrl',
  verificationToken: 'input.verificationToken',
  sink: 'input.sink',
  storeId: 'input.storeId',
  active: 'input.active',
  filter: 'input.filter',
  fields: 'input.fields',
  headers: 'input.headers',
  maxPerSecond: 'input.maxPerSecond',
  ordering: 'input.ordering',
  subscriptionId: 'id',
  subscription: 'input',
};

/** Runs a service call, naming refused fields as the client wrote them. */
async function inGraphqlTerms<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (thrown) {
    if (thrown instanceof AsyncEventsError && thrown.code === 'SUBSCRIPTION_NOT_FOUND') {
      throw new AsyncEventsError('SUBSCRIPTION_NOT_FOUND', thrown.message, { field: 'id', id: thrown.details.id });
    }
    throw toGraphqlInputError(thrown, (field) => GRAPHQL_FIELD[field]);
  }
}

/** Resolvers of schemas/async-events.graphql. They call the dependencies only; no SQL of their own. */
export function makeResolvers(deps: ApiDependencies, liveFeeds: LiveFeeds) {
  const { subscriptions } = servicesOf(deps);
  const audit = deps.logger.child({ component: 'graphql' });
  const healthOf = batched((items: readonly Subscription[]) => subscriptions.healthOf(items));

  return {
    Query: {
      deliveries: withErrorCodes(async (_: unknown, args: PageArgs & { query?: string | null; after?: number | null }) => {
        const page = pageFromArgs(args);
        const after = afterCursor(args.after, args.offset);
        // Search pages hold at least one hit; `first: 0` asks for the total only.
        const size = Math.max(1, page.first);
        const result = await deps.search(args.query ?? '', after === undefined ? { size, from: page.offset } : { size, beforeLogId: after });
        return { total: result.total, nodes: result.hits.slice(0, page.first), cursor: page.first === 0 ? null : result.next };
      }),
      trace: withErrorCodes(async (_: unknown, args: { uuid: string }, context: GraphqlContext) => {
        // The payload is the event's data: reading it needs the event's resources, as subscribing does.
        await assertMayTouchDelivery(deps, context.principal, args.uuid);
        return (await buildTrace(deps.store, args.uuid)) ?? null;
      }),
      subscriptions: withErrorCodes(async (_: unknown, args: PageArgs & { eventName?: string | null }) => {
        const page = pageFromArgs(args);
        const criteria = subscriptionCriteria(args.eventName ?? undefined, page.first, page.offset);
        const result = await deps.store.subscriptions.list(criteria.criteria);
        return { total: result.totalCount, nodes: result.items.slice(criteria.skip, criteria.skip + page.first) };
      }),
      subscription: withErrorCodes(async (_: unknown, args: { id: string }) => (await deps.store.subscriptions.get(subscriptionId(args.id))) ?? null),
      events: () =>
        [...deps.events().values()]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((event) => ({
            ...event,
            file: event.source.file,
            line: event.source.line,
            arguments: deps.routes ? (serviceArguments(deps.routes, event.serviceClass, event.serviceMethod) ?? null) : null,
          })),
      sinks: withErrorCodes(async () => deps.sinks()),
      health: withErrorCodes(async () => deps.health()),
      parkedMessages: withErrorCodes(async (_: unknown, args: { first?: number | null }) => {
        const limit = parkedLimit(args.first);
        const [nodes, total] = await Promise.all([limit === 0 ? [] : deps.store.parked.list(limit), deps.store.parked.count()]);
        return { total, nodes: nodes.map(parkedNode) };
      }),
    },

    Mutation: {
      subscribe: withErrorCodes(async (_: unknown, args: { input: SubscribeInput }, context: GraphqlContext) => {
        const { input } = args;
        const created = await inGraphqlTerms(() =>
          subscriptions.create(context.principal, {
            eventName: input.eventName,
            recipientUrl: input.recipientUrl,
            verificationToken: input.verificationToken,
            ...(input.sink != null ? { sink: input.sink } : {}),
            ...(input.storeId != null ? { storeId: input.storeId } : {}),
            ...graphqlRules(input),
          }),
        );
        audit.info({ principal: context.principal, subscriptionId: created.id, eventName: created.eventName }, 'subscription created');
        return created;
      }),
      updateSubscription: withErrorCodes(async (_: unknown, args: { id: string; input: UpdateSubscriptionInput }, context: GraphqlContext) => {
        const id = subscriptionId(args.id);
        const { input } = args;
        const change = {
          ...(input.recipientUrl != null ? { recipientUrl: input.recipientUrl } : {}),
          ...(input.verificationToken != null ? { verificationToken: input.verificationToken } : {}),
          ...(input.sink != null ? { sink: input.sink } : {}),
          ...(input.active != null ? { active: input.active } : {}),
          ...(input.storeId != null ? { storeId: input.storeId } : {}),
          ...graphqlRules(input),
        };
        const updated = await inGraphqlTerms(() => subscriptions.update(context.principal, id, change));
        audit.info({ principal: context.principal, subscriptionId: id, fields: Object.keys(change) }, 'subscription updated');
        return updated;
      }),
      unsubscribe: withErrorCodes(async (_: unknown, args: { id: string }, context: GraphqlContext) => {
        const id = subscriptionId(args.id);
        await inGraphqlTerms(() => subscriptions.delete(context.principal, id));
        audit.info({ principal: context.principal, subscriptionId: id }, 'subscription deleted');
        return true;
      }),
      replay: withErrorCodes(async (_: unknown, args: { uuid: string }, context: GraphqlContext) => {
        await assertMayTouchDelivery(deps, context.principal, args.uuid);
        const replayed = await deps.replay(args.uuid);
        audit.info({ principal: context.principal, uuid: args.uuid }, 'delivery replayed');
        return replayed;
      }),
      replayQuery: withErrorCodes(async (_: unknown, args: { query: string }, context: GraphqlContext) => {
        const result = await replayMatching(deps, args.query, (eventName) => servicesOf(deps).access.assertAllowed(context.principal, eventName));
        audit.info({ principal: context.principal, query: args.query, matched: result.matched, failed: result.failed.length }, 'deliveries replayed by query');
        return result;
      }),
      redriveParked: withErrorCodes(async (_: unknown, args: { ids?: readonly string[] | null; all?: boolean | null }, context: GraphqlContext) => {
        const result = await deps.redriveParked(redriveSelection(args));
        audit.info({ principal: context.principal, redriven: result.redriven.length, unknown: result.unknown.length, failed: result.failed.length }, 'parked messages redriven');
        return {
          redriven: result.redriven.length,
          ids: result.redriven.map(String),
          unknown: result.unknown.map(String),
          failed: result.failed.map((f) => ({ id: String(f.id), message: f.message })),
        };
      }),
    },

    Subscription: {
      deliveryAttempts: {
        subscribe: (_: unknown, args: { eventName?: string | null }) => liveFeeds.open(args.eventName),
        resolve: (attempt: AttemptEvent) => attempt,
      },
    },

    DeliveryAttempt: { created: isoTime, sink: (attempt: { sink?: string }) => attempt.sink ?? '' },
    LiveDeliveryAttempt: { created: isoTime },
    EventSubscription: {
      // The token is not in the type, so it cannot be selected; `metadata` is shown under its meaning.
      sink: (subscription: Subscription) => subscription.metadata,
      subscribedAt: (subscription: Subscription) => subscription.subscribedAt?.toISOString() ?? null,
      modified: (subscription: Subscription) => subscription.modified?.toISOString() ?? null,
      health: withErrorCodes(async (subscription: Subscription) => {
        const health = await healthOf(subscription);
        return health ? graphqlHealth(health) : null;
      }),
      filter: (subscription: Subscription) => subscription.rules?.filter ?? null,
      fields: (subscription: Subscription) => subscription.rules?.fields ?? null,
      headers: (subscription: Subscription) => Object.entries(subscription.rules?.headers ?? {}).map(([name, value]) => ({ name, value })),
      maxPerSecond: (subscription: Subscription) => subscription.rules?.maxPerSecond ?? null,
      ordering: (subscription: Subscription) => (subscription.rules?.ordering ? GRAPHQL_ORDERING[subscription.rules.ordering] : null),
    },
  };
}

/**
 * The health of every subscription of a page in one read: graphql-js resolves a list's fields in one tick, so the
 * calls of that tick are gathered and loaded together.
 */
function batched(load: (items: readonly Subscription[]) => Promise<Map<number, SubscriptionHealth>>): (item: Subscription) => Promise<SubscriptionHealth | undefined> {
  let waiting: { item: Subscription; resolve: (health: SubscriptionHealth | undefined) => void; reject: (error: unknown) => void }[] = [];
  return (item) =>
    new Promise((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (waiting.length > 1) return;
      setImmediate(() => {
        const batch = waiting;
        waiting = [];
        load(batch.map((w) => w.item)).then(
          (found) => batch.forEach((w) => w.resolve(found.get(w.item.id))),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        );
      });
    });
}

function graphqlHealth(health: SubscriptionHealth) {
  return {
    status: health.status,
    consecutiveFailures: health.consecutiveFailures,
    lastSuccessAt: health.lastSuccessAt?.toISOString() ?? null,
    lastFailure: health.lastFailure ? { at: health.lastFailure.at.toISOString(), statusCode: health.lastFailure.statusCode, response: health.lastFailure.response } : null,
    successRateLastHour: health.successRate.lastHour,
    successRateLastDay: health.successRate.lastDay,
    attemptsLastHour: health.attempts.lastHour,
    attemptsLastDay: health.attempts.lastDay,
    inFlight: health.inFlight,
    filteredOut: health.filteredOut,
    disabledReason: health.disabledReason,
    disabledAt: health.disabledAt?.toISOString() ?? null,
    hourly: health.hourly.map((b) => ({ hour: b.hourStart.toISOString(), succeeded: b.succeeded, failed: b.failed, chainsFailed: b.chainsFailed })),
  };
}

function isoTime(row: { created: Date }): string {
  return row.created.toISOString();
}

/** `after` is a previous page's cursor (a log_id); it replaces `offset`. */
function afterCursor(after: number | null | undefined, offset: number | null | undefined): number | undefined {
  if (after === null || after === undefined) return undefined;
  if (!Number.isSafeInteger(after) || after < 1) throw inputError('after', `must be the cursor of a previous page (a positive whole number), got ${after}`);
  if (offset !== null && offset !== undefined && offset !== 0) throw inputError('after', 'cannot be combined with offset');
  return after;
}

function subscriptionId(id: string): number {
  const value = /^\d{1,10}$/.test(id) ? Number(id) : NaN;
  if (!(value >= 1 && value <= MAX_SUBSCRIPTION_ID)) throw inputError('id', `"${id}" is not a subscription id (a positive whole number)`);
  return value;
}

/**
 * The repository pages by page number; an offset that is not a multiple of the page size reads one larger first
 * page and skips the rows before the offset.
 */
function subscriptionCriteria(eventName: string | undefined, first: number, offset: number): { criteria: SubscriptionCriteria; skip: number } {
  const base: SubscriptionCriteria = {
    filterGroups: eventName === undefined ? [] : [[{ field: 'event_name', condition: 'eq', value: eventName }]],
    sortOrders: [{ field: 'subscription_id', direction: 'ASC' }],
  };
  if (first > 0 && offset % first === 0) return { criteria: { ...base, pageSize: first, currentPage: offset / first + 1 }, skip: 0 };
  return { criteria: { ...base, pageSize: Math.max(1, offset + first), currentPage: 1 }, skip: offset };
}
