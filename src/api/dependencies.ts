import type { RedriveResult, RedriveSelection } from '../delivery/redrive.ts';
import type { Logger } from '../logger.ts';
import type { WebapiRouteIndex } from '../magento/webapi-routes.ts';
import type { Store } from '../store/store.ts';
import type { TokenRotation } from '../store/subscription-service/token-rotation.ts';
import type { HealthSource } from '../store/subscription-service/index.ts';
import type { EventRegistry, Principal, StoreId } from '../types.ts';

export type { Principal } from '../types.ts';

/**
 * What the REST API, GraphQL and the console need from the rest of the sidecar. `src/app.ts` builds it; tests
 * build it from real stores and fakes of the pipeline functions. The API never runs SQL of its own: it calls
 * these.
 */
export interface ApiDependencies {
  readonly logger: Logger;
  readonly store: Store;
  /** Current merged async_events.xml; a getter because it may be reloaded. */
  events(): EventRegistry;
  /** Magento's REST routes (and the bridge's), for the argument names of an event's service; absent: unknown. */
  readonly routes?: WebapiRouteIndex;
  /** Sink keys and whether each is usable now. */
  sinks(): Promise<readonly { key: string; usable: boolean; reason?: string }[]>;
  /** Starts a new chain under the same UUID (same retry rules). */
  replay(uuid: string): Promise<{ uuid: string; subscriptionId: number }>;
  /** Puts parked messages back on their queues unchanged and takes them off the parked list (delivery/redrive.ts). */
  redriveParked(selection: RedriveSelection): Promise<RedriveResult>;
  /** Publishes a trigger message exactly as the PHP publisher would. */
  publish(eventName: string, args: Record<string, unknown>, storeId: StoreId): Promise<void>;
  /** Lucene search over the delivery log; throws AsyncEventsError('QUERY_SYNTAX') with a position. */
  search(query: string, page: SearchPageRequest): Promise<SearchPage>;
  /** The console's overview of the last hour. */
  overview(): Promise<Overview>;
  /** State of every backing service for /readyz, doctor and the console. */
  health(): Promise<readonly ServiceHealth[]>;
  /** Subscribe to delivery attempts as they are logged (live feed); returns an unsubscribe function. */
  onAttempt(listener: (attempt: AttemptEvent) => void): () => void;
  readonly auth: Authenticator;
  /** The running sidecar's health tracker (figures not yet written, attempts in flight); absent: stored figures only. */
  readonly subscriptionHealth?: HealthSource;
  /**
   * The private-address guard's verdict on a recipient URL when a subscription is saved (an IP literal it refuses),
   * so the mistake is named then rather than at the first delivery. Optional: the sink checks at connect time anyway.
   */
  readonly recipientRefusal?: (url: URL) => string | undefined;
  /** How long a replaced verification token keeps signing, and the sink cache to tell; without it 24 hours. */
  readonly tokenRotation?: TokenRotation;
  /** Starts the trigger queue's publish-order reader, which ordering=entity subscriptions need; without it they are refused. */
  readonly publishOrder?: { enable(): Promise<void> };
}

/** `from` for page numbers, or `beforeLogId` (a previous page's `next`) for keyset paging; not both. */
export interface SearchPageRequest {
  readonly size: number;
  readonly from?: number;
  readonly beforeLogId?: number;
  /** false: no total wanted (the match iterators); `total` is then only a lower bound and the engine skips its count. */
  readonly countTotal?: boolean;
}

export interface SearchPage {
  readonly total: number;
  readonly hits: readonly SearchHit[];
  /** beforeLogId of the next page; null when the engine has nothing more (a page may be short before that). */
  readonly next: number | null;
}

export interface SearchHit {
  readonly logId: number;
  readonly uuid: string;
  readonly eventName: string;
  readonly success: boolean;
  readonly created: Date;
  readonly subscriptionId: number;
  /** Where the attempt went (kept with the attempt, so a later subscription change does not rewrite it). */
  readonly recipientUrl: string;
  readonly responseData: string;
  /** The sink it went through (`http`, `eventbridge`…). */
  readonly sink?: string;
}

export interface Overview {
  readonly perMinute: readonly { minute: string; delivered: number; failed: number; retried: number }[];
  readonly queueDepth: { readonly trigger: number; readonly retry: number };
  readonly deadLettered: number;
  readonly slowest: readonly { subscriptionId: number; recipientUrl: string; p95Ms: number }[];
  readonly mostFailing: readonly { subscriptionId: number; recipientUrl: string; failures: number }[];
  readonly services: readonly ServiceHealth[];
}

export interface ServiceHealth {
  readonly name: string;
  readonly up: boolean;
  readonly detail: string;
}

export interface AttemptEvent {
  readonly logId: number;
  readonly uuid: string;
  readonly subscriptionId: number;
  readonly eventName: string;
  readonly success: boolean;
  readonly deathCount: number;
  readonly chainStatus: string;
  readonly created: Date;
}

export interface Authenticator {
  /**
   * Resolves a bearer token to a principal allowed `MageOS_AsyncEvents::manage`, or throws
   * AsyncEventsError('UNAUTHORIZED' | 'FORBIDDEN') with a clear message.
   */
  authenticate(authorizationHeader: string | undefined): Promise<Principal>;
  /**
   * Whether the principal may use every one of these ACL resources: an event's `<resources>`, checked when a
   * subscription is created or changed, as upstream's `validateResources` does. Undefined when this authenticator
   * does not know the principal. Optional: without it any authenticated caller may subscribe to any event.
   */
  isAllowed?(principal: Principal, resources: readonly string[]): Promise<boolean | undefined>;
}
