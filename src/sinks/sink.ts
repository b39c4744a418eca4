import type { DeliveryOutcome, EventPayload, PayloadFormat, Subscription } from '../types.ts';

/**
 * A sink delivers one attempt of a chain to one kind of recipient. Sinks are registered by the key stored in
 * `async_event_subscriber.metadata` (`http`, `eventbridge`, `sqs`…); adding a sink is one file plus one line in
 * `registry.ts`.
 */
export interface Sink {
  readonly key: string;
  /** Why this sink cannot be used now (missing configuration), or undefined when it can. */
  unusableReason(): Promise<string | undefined>;
  deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

export interface DeliveryAttemptRequest {
  readonly subscription: Subscription;
  readonly payload: EventPayload;
  readonly format: PayloadFormat;
  /** Failed attempts of this chain so far (0 on the first attempt). */
  readonly deathCount: number;
  readonly signal?: AbortSignal;
}
