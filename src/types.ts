/*
 * Glossary: the words of the domain, and the types every stage of the pipeline shares.
 *
 * - event: something that happened in Magento, named like `sales.order.created`, declared in a module's
 *   `etc/async_events.xml` with the service (class::method) whose result is the event's data.
 * - trigger message: what an observer publishes through `AsyncEventPublisher::publish()`: the JSON array
 *   `[eventName, "<json of the service arguments>", storeId?]` on topic `event.trigger`.
 * - Magento callback: the REST call back into Magento that runs the event's service with those arguments;
 *   its response bytes are the event's payload data.
 * - subscription: a row of `async_event_subscriber`: one recipient (URL, bus ARN, queue URL…) of one event,
 *   with the sink that reaches it (`metadata`, e.g. `http`) and the verification token that signs deliveries.
 * - sink: the code that delivers to one kind of recipient (HTTP webhook, EventBridge, SQS), keyed by `metadata`.
 * - chain: all delivery attempts of one event to one subscription, under one UUID: the first attempt, then
 *   retries after min(60, deaths²) seconds, until success or dead-lettering. A replay starts a new chain under
 *   the same UUID.
 * - delivery attempt: one try of a chain; each writes one log row in `async_event_subscriber_log`.
 * - death count: how many attempts of a chain have failed so far; a chain whose death count reaches
 *   `max_deaths` is dead-lettered.
 * - retry message: `{"subscription_id","death_count","content","uuid"}`, the next attempt of a chain, waiting
 *   in a delay queue (RabbitMQ) or as a row with a due time (database).
 * - parked message: a queue message that can never be handled (not JSON, unknown event…), kept with its reason.
 */

/** One `<async_event>` of the merged configuration. */
export interface EventDefinition {
  readonly name: string;
  readonly serviceClass: string;
  readonly serviceMethod: string;
  /** ACL resources of `<resources>`; empty when the element is absent. */
  readonly resources: readonly string[];
  /** Where the winning declaration stands, relative to the Magento root. */
  readonly source: SourceLocation;
  /** Module that declared it, e.g. `Vendor_Module`. */
  readonly module: string;
}

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column?: number;
}

/** Event name → definition; names are case-sensitive. */
export type EventRegistry = ReadonlyMap<string, EventDefinition>;

/** A Magento store id as published: PHP 3.x sends an int, 4.x a string. */
export type StoreId = number | string;

/** A parsed trigger message. */
export interface TriggerMessage {
  readonly eventName: string;
  /** Named arguments of the service method, decoded from the JSON string of element 1. */
  readonly arguments: Readonly<Record<string, unknown>>;
  readonly storeId: StoreId;
}

/** Upstream's retry message body, verbatim field names. */
export interface RetryMessage {
  readonly subscription_id: number;
  readonly death_count: number;
  /** JSON of the event data (3.x) or the structured CloudEvent (4.x and ours). */
  readonly content: string;
  readonly uuid: string;
}

/** Sink key as stored in `async_event_subscriber.metadata`. */
export type SinkKey = string;

export interface Subscription {
  readonly id: number;
  readonly eventName: string;
  readonly recipientUrl: string;
  /** Decrypted verification token (plain text); never leaves the process in a response or log line. */
  readonly verificationToken: string;
  readonly active: boolean;
  readonly subscribedAt: Date | null;
  readonly modified: Date | null;
  readonly metadata: SinkKey;
  readonly storeId: number;
  /** Our rules beyond upstream's columns (table async_event_subscription_rule); the store always sets it. */
  readonly rules?: SubscriptionRules;
}

/** A subscription's optional rules; a rule left out does not apply. */
export interface SubscriptionRules {
  /** Lucene query (the search syntax) over Magento's response (`data.*`), `event_name` and `store_id`. */
  readonly filter?: string;
  /** Magento REST `fields` selection applied to the response before the payload is built. */
  readonly fields?: string;
  /** Extra request headers of the http sink. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deliveries per second at most (per sidecar process); the excess waits. */
  readonly maxPerSecond?: number;
  /** 'entity': events with equal service arguments reach this subscription in publish order, across retries. */
  readonly ordering?: SubscriptionOrdering;
}

export const SUBSCRIPTION_ORDERINGS = ['entity'] as const;
export type SubscriptionOrdering = (typeof SUBSCRIPTION_ORDERINGS)[number];

/** One row of `async_event_subscriber_log`. */
export interface DeliveryLogRow {
  readonly logId: number;
  readonly uuid: string;
  readonly subscriptionId: number;
  readonly success: boolean;
  readonly responseData: string;
  readonly created: Date;
  /** JSON text of what was delivered (the CloudEvent, or `{"data":…}` in legacy format). */
  readonly serializedData: string | null;
}

export type ChainStatus = 'pending' | 'retrying' | 'delivered' | 'dead' | 'failed';

/** Our own per-UUID summary of a chain (table `async_event_chain`), kept beside the upstream log. */
export interface Chain {
  readonly uuid: string;
  readonly subscriptionId: number;
  readonly eventName: string;
  readonly storeId: string;
  readonly status: ChainStatus;
  readonly attempts: number;
  readonly deathCount: number;
  readonly nextAttemptAt: Date | null;
  readonly created: Date;
  readonly updated: Date;
}

/** The body format of HTTP deliveries. */
export type PayloadFormat = 'cloudevents' | 'legacy';

/**
 * What a chain delivers: the event's data as Magento's REST layer wrote it. `data` is kept as raw JSON text so
 * the bytes PHP's json_encode produced reach the receiver unchanged.
 */
export interface EventPayload {
  readonly uuid: string;
  readonly eventName: string;
  readonly storeId: StoreId;
  /** Raw JSON text of the event data. */
  readonly data: string;
}

/** What a sink reports about one delivery attempt. */
export interface DeliveryOutcome {
  readonly success: boolean;
  /** Worth another attempt after the backoff (network error, timeout, 408, 429, 5xx, throttling). */
  readonly retryable: boolean;
  /** Response body, reason or error text, stored in `response_data`. */
  readonly responseData: string;
  /** Seconds the recipient asked us to wait (`Retry-After`), already clamped by the sink. */
  readonly retryAfterSeconds?: number;
  /** The recipient said it is gone for good (HTTP 410): the subscription is disabled. */
  readonly disableSubscription?: boolean;
  readonly statusCode?: number;
}

/**
 * Who is acting: through the API, resolved from `Authorization: Bearer …` (the sidecar's API token or a Magento
 * integration); at the command line, the local operator.
 */
export type Principal =
  | { readonly kind: 'api-token' }
  | { readonly kind: 'integration'; readonly integrationId: number; readonly name: string }
  | { readonly kind: 'operator' };

/**
 * The person at the command line (`async-events subscription …`): whoever can run the CLI can read the settings,
 * the crypt key and the database it uses, so it acts as the administrator, with every ACL resource. No
 * authenticator ever resolves a bearer token to it; only the CLI's parts (app.ts `subscriptions()`) act as it.
 */
export const LOCAL_OPERATOR: Principal = { kind: 'operator' };

/**
 * Whether the principal holds every one of these Magento ACL resources; undefined when the answer is not known
 * (no authenticator knows the principal), which counts as allowed: only integrations have a narrower ACL.
 */
export type ResourceCheck = (principal: Principal, resources: readonly string[]) => Promise<boolean | undefined>;
