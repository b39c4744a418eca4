import { z } from 'zod';
import { isAsyncEventsError } from '../errors.ts';
import type { Chain } from '../types.ts';
import { apiError } from './api-error.ts';
import { matchingUuids } from '../search/matches.ts';
import { searchCsv } from './csv.ts';
import type { ApiDependencies, SearchHit } from './dependencies.ts';
import { formatMagentoDate } from './display.ts';
import { defineRoute, StreamResponse, type AnyRoute } from './route.ts';
import { storeIdSchema } from './routes-subscriptions.ts';
import { assertMayTouchDelivery, servicesOf, toRestError } from './services.ts';
import { fieldError } from './validation.ts';

/** Runs an access check, answering a refusal as Magento's 403. */
async function inRestTerms(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (thrown) {
    throw toRestError(thrown, (field) => field);
  }
}

/* Our routes beyond upstream's webapi.xml: the delivery log, trace, replay, publish, sinks, parked messages. */

export interface LogRoutesOptions {
  /** Most chains one `POST /V1/async_events/replay` may replay. */
  readonly replayLimit?: number;
  /** Rows fetched per search page while collecting or streaming. */
  readonly searchPageSize?: number;
}

const uuidParam = z.strictObject({
  uuid: z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID such as 0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a'),
});
const positiveInt = (max: number) =>
  z.string().regex(/^[1-9]\d*$/, 'must be a whole number greater than 0').refine((v) => Number(v) <= max, `must be at most ${max}`).transform(Number);
/** A parked message id: a number, or its digits as a string (as the CLI and GraphQL's ID pass it). */
const parkedId = z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d{0,14}$/).transform(Number)], { error: 'must be a parked message id (a positive whole number)' });
const luceneQuery = z.string().max(4096, 'must be at most 4096 characters');

const hitSchema = z.strictObject({
  log_id: z.number().int(),
  uuid: z.string(),
  event_name: z.string(),
  success: z.boolean(),
  created: z.string().nullable(),
  subscription_id: z.number().int(),
  recipient_url: z.string(),
  response_data: z.string(),
  sink: z.string().optional(),
});

function toHit(hit: SearchHit): z.input<typeof hitSchema> {
  return {
    log_id: hit.logId,
    uuid: hit.uuid,
    event_name: hit.eventName,
    success: hit.success,
    created: formatMagentoDate(hit.created),
    subscription_id: hit.subscriptionId,
    recipient_url: hit.recipientUrl,
    response_data: hit.responseData,
    ...(hit.sink === undefined ? {} : { sink: hit.sink }),
  };
}

const chainSchema = z.strictObject({
  subscription_id: z.number().int(),
  event_name: z.string(),
  store_id: z.string(),
  status: z.string(),
  attempts: z.number().int(),
  death_count: z.number().int(),
  next_attempt_at: z.string().nullable(),
  created: z.string().nullable(),
  updated: z.string().nullable(),
});

function toChain(chain: Chain): z.input<typeof chainSchema> {
  return {
    subscription_id: chain.subscriptionId,
    event_name: chain.eventName,
    store_id: chain.storeId,
    status: chain.status,
    attempts: chain.attempts,
    death_count: chain.deathCount,
    next_attempt_at: formatMagentoDate(chain.nextAttemptAt),
    created: formatMagentoDate(chain.created),
    updated: formatMagentoDate(chain.updated),
  };
}

const attemptSchema = hitSchema.extend({ serialized_data: z.string().nullable() });

/** The delivered body indented for reading; the raw text stays in `serialized_data` byte for byte. */
function prettyPayload(raw: string | null): string | null {
  if (raw === null) return null;
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

function noLog(uuid: string) {
  return apiError('NOT_FOUND', 'No delivery log with uuid "%1" exists.', [uuid]);
}

/** Distinct UUIDs the query matches (with their event), in search order; refuses before replaying anything when over the limit. */
function matchingChains(deps: ApiDependencies, query: string, limit: number, pageSize: number): Promise<Map<string, string>> {
  const tooMany = (max: number) => apiError('VALIDATION_FAILED', 'The query matches more than %1 chains; narrow it down (for example with created:[… TO …]) and try again.', [max]);
  return matchingUuids((q, page) => deps.search(q, page), query, limit, tooMany, pageSize);
}

function errorText(error: unknown): string {
  return isAsyncEventsError(error) ? error.message : 'replay failed; see the async-events log';
}

export function logRoutes(options: LogRoutesOptions = {}): AnyRoute[] {
  const replayLimit = options.replayLimit ?? 10_000;
  const pageSize = options.searchPageSize ?? 500;
  return [
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/logs',
      summary: 'Search the delivery log (Lucene syntax)',
      description:
        'Fields: log_id, uuid, event_name, success, created, data.* . An empty query matches every row. Page with currentPage, or, for deep pages, with cursor = the next_cursor of the previous page (null after the last page).',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z
        .strictObject({ query: luceneQuery.optional(), pageSize: positiveInt(1000).optional(), currentPage: positiveInt(1_000_000).optional(), cursor: positiveInt(Number.MAX_SAFE_INTEGER).optional() })
        .refine((q) => q.cursor === undefined || q.currentPage === undefined, { message: 'cannot be combined with currentPage', path: ['cursor'] }),
      response: z.strictObject({
        items: z.array(hitSchema),
        total_count: z.number().int(),
        page_size: z.number().int(),
        current_page: z.number().int().nullable(),
        next_cursor: z.number().int().nullable(),
      }),
      async handler({ query, deps }) {
        const size = query.pageSize ?? 20;
        const current = query.cursor === undefined ? (query.currentPage ?? 1) : null;
        const position = query.cursor === undefined ? { from: ((current ?? 1) - 1) * size } : { beforeLogId: query.cursor };
        const page = await deps.search(query.query?.trim() ?? '', { size, ...position });
        return { items: page.hits.map(toHit), total_count: page.total, page_size: size, current_page: current, next_cursor: page.next };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/logs/:uuid',
      summary: 'Trace one chain: its summary, every attempt and the delivered payload',
      origin: 'async-events',
      params: uuidParam,
      query: z.strictObject({}),
      response: z.strictObject({ uuid: z.string(), chain: chainSchema.nullable(), attempts: z.array(attemptSchema), payload_pretty: z.string().nullable() }),
      async handler({ params, deps, principal }) {
        const [chain, attempts] = await Promise.all([deps.store.log.chain(params.uuid), deps.store.log.attempts(params.uuid)]);
        if (!chain && attempts.length === 0) throw noLog(params.uuid);
        // The payload is the event's data: reading it needs the event's resources, as subscribing does.
        const eventName = chain?.eventName ?? attempts[0]?.eventName;
        if (eventName !== undefined) await inRestTerms(() => servicesOf(deps).access.assertAllowed(principal, eventName));
        const latest = attempts.at(-1);
        return {
          uuid: params.uuid,
          chain: chain ? toChain(chain) : null,
          attempts: attempts.map((row) => ({
            ...toHit({ ...row, eventName: row.eventName, recipientUrl: row.recipientUrl }),
            serialized_data: row.serializedData,
          })),
          payload_pretty: prettyPayload(latest?.serializedData ?? null),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/V1/async_events/logs/:uuid/replay',
      summary: 'Replay one chain (a new chain under the same UUID)',
      origin: 'async-events',
      params: uuidParam,
      query: z.strictObject({}),
      response: z.strictObject({ uuid: z.string(), subscription_id: z.number().int() }),
      async handler({ params, deps, principal }) {
        await inRestTerms(() => assertMayTouchDelivery(deps, principal, params.uuid));
        // The pipeline's NOT_FOUND / SUBSCRIPTION_NOT_FOUND errors become 404s with their own message.
        const result = await deps.replay(params.uuid);
        return { uuid: result.uuid, subscription_id: result.subscriptionId };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/V1/async_events/replay',
      summary: 'Replay every chain a Lucene query matches',
      description: `Replays each distinct UUID once. Refused, replaying nothing, when more than ${replayLimit} chains match.`,
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({}),
      body: z.strictObject({ query: luceneQuery.trim().min(1, 'must not be empty; replaying everything needs an explicit query such as success:false') }),
      response: z.strictObject({
        count: z.number().int(),
        replayed: z.array(z.strictObject({ uuid: z.string(), subscription_id: z.number().int() })),
        failed: z.array(z.strictObject({ uuid: z.string(), message: z.string() })),
      }),
      async handler({ body, deps, principal }) {
        const uuids = await matchingChains(deps, body.query, replayLimit, pageSize);
        const replayed: { uuid: string; subscription_id: number }[] = [];
        const failed: { uuid: string; message: string }[] = [];
        const { access } = servicesOf(deps);
        for (const [uuid, eventName] of uuids) {
          try {
            await access.assertAllowed(principal, eventName);
            const result = await deps.replay(uuid);
            replayed.push({ uuid: result.uuid, subscription_id: result.subscriptionId });
          } catch (error) {
            deps.logger.warn({ err: error, uuid }, 'replay by query: one chain failed');
            failed.push({ uuid, message: errorText(error) });
          }
        }
        return { count: replayed.length, replayed, failed };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/V1/async_events/publish',
      summary: 'Publish an event exactly as the PHP publisher would',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({}),
      body: z.strictObject({
        event_name: z.string().trim().min(1, 'must not be empty'),
        arguments: z.record(z.string(), z.unknown(), { error: 'must be a JSON object of the service arguments, e.g. {"id": 42}' }),
        store_id: storeIdSchema.optional(),
      }),
      response: z.strictObject({ published: z.literal(true), event_name: z.string(), store_id: z.string() }),
      async handler({ body, deps, storeCode, principal }) {
        if (!deps.events().has(body.event_name)) {
          throw fieldError('event_name', `no async event "${body.event_name}" is declared in any enabled etc/async_events.xml`);
        }
        // Publishing makes the sidecar fetch the entity with its own Magento token: the caller needs the event's resources.
        await inRestTerms(() => servicesOf(deps).access.assertAllowed(principal, body.event_name));
        // Without a store code, or with `all`, the event is global: store "0", the PHP publisher's default.
        const storeId = body.store_id ?? (storeCode === undefined || storeCode === 'all' ? 0 : undefined);
        if (storeId === undefined) {
          throw fieldError('store_id', `is required with the store code "${storeCode ?? ''}" in the URL (the sidecar does not resolve store codes to ids)`);
        }
        // The 4.x publisher sends the store id as a string (`publish(string $eventName, array $data, string $storeId = "0")`).
        await deps.publish(body.event_name, body.arguments, String(storeId));
        return { published: true as const, event_name: body.event_name, store_id: String(storeId) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/overview',
      summary: 'The last hour at a glance: deliveries per minute, queue depth, dead letters, slowest and most failing subscriptions, services',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({}),
      response: z.strictObject({
        perMinute: z.array(z.strictObject({ minute: z.string(), delivered: z.number().int(), failed: z.number().int(), retried: z.number().int() })),
        queueDepth: z.strictObject({ trigger: z.number().int(), retry: z.number().int() }),
        deadLettered: z.number().int(),
        slowest: z.array(z.strictObject({ subscriptionId: z.number().int(), recipientUrl: z.string(), p95Ms: z.number() })),
        mostFailing: z.array(z.strictObject({ subscriptionId: z.number().int(), recipientUrl: z.string(), failures: z.number().int() })),
        services: z.array(z.strictObject({ name: z.string(), up: z.boolean(), detail: z.string() })),
      }),
      async handler({ deps }) {
        const overview = await deps.overview();
        return {
          perMinute: [...overview.perMinute],
          queueDepth: { ...overview.queueDepth },
          deadLettered: overview.deadLettered,
          slowest: [...overview.slowest],
          mostFailing: [...overview.mostFailing],
          services: overview.services.map((s) => ({ name: s.name, up: s.up, detail: s.detail })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/sinks',
      summary: 'Sinks (subscription metadata values) usable now; with all=1 also the unusable ones and why',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({ all: z.enum(['0', '1', 'true', 'false']).optional() }),
      response: z.array(z.strictObject({ key: z.string(), usable: z.boolean(), reason: z.string().optional() })),
      async handler({ query, deps }) {
        // A sink that cannot deliver (e.g. EventBridge without credentials) is not offered unless asked for.
        const all = query.all === '1' || query.all === 'true';
        return (await deps.sinks())
          .filter((s) => all || s.usable)
          .map((s) => ({ key: s.key, usable: s.usable, ...(s.reason !== undefined ? { reason: s.reason } : {}) }));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/search.csv',
      summary: 'Download the rows a Lucene query matches as CSV (RFC 4180)',
      description: 'Columns: log_id, uuid, event_name, success, created, subscription_id, recipient_url, response_data, sink (recipient and sink as of the attempt). Streamed page by page.',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({ query: luceneQuery.optional() }),
      response: z.string(),
      responseContentType: 'text/csv',
      async handler({ query, deps }) {
        const q = query.query?.trim() ?? '';
        // The first page runs before the status line goes out, so a syntax error is still a clean 400.
        await deps.search(q, { size: 1, from: 0 });
        return new StreamResponse('text/csv; charset=utf-8', searchCsv((text, page) => deps.search(text, page), q, pageSize), 'async-events-log.csv');
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/parked',
      summary: 'Queue messages that could not be handled, with their reason',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({ limit: positiveInt(1000).optional() }),
      response: z.strictObject({
        items: z.array(z.strictObject({ id: z.number().int(), queue: z.string(), body: z.string(), reason: z.string(), created: z.string().nullable() })),
        total_count: z.number().int(),
      }),
      async handler({ query, deps }) {
        const [items, total] = await Promise.all([deps.store.parked.list(query.limit ?? 100), deps.store.parked.count()]);
        return {
          items: items.map((p) => ({ id: p.id, queue: p.queue, body: p.body, reason: p.reason, created: formatMagentoDate(p.created) })),
          total_count: total,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/V1/async_events/parked/redrive',
      summary: 'Put parked messages back on their queues unchanged: {} for all, {"ids":[…]} for some',
      description:
        'Each message is requeued, then taken off the parked list; one that fails again is parked again under a new id. ' +
        'Ids not parked are listed in `unknown` and nothing is done for them; messages that cannot go back stay parked and are listed in `failed`.',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({}),
      body: z.strictObject({ ids: z.array(parkedId).min(1, 'must list at least one id; send {} to redrive every parked message').max(1000, 'must list at most 1000 ids').optional() }),
      response: z.strictObject({
        redriven: z.number().int(),
        ids: z.array(z.number().int()),
        unknown: z.array(z.number().int()),
        failed: z.array(z.strictObject({ id: z.number().int(), message: z.string() })),
      }),
      async handler({ body, deps, principal }) {
        const result = await deps.redriveParked(body.ids === undefined ? { all: true } : { ids: body.ids });
        deps.logger.info({ principal, redriven: result.redriven.length, unknown: result.unknown.length, failed: result.failed.length }, 'parked messages redriven over REST');
        return { redriven: result.redriven.length, ids: [...result.redriven], unknown: [...result.unknown], failed: result.failed.map((f) => ({ ...f })) };
      },
    }),
  ];
}
