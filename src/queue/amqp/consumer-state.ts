import type { Channel, ConsumeMessage } from 'amqplib';

/**
 * One subscription of the transport, kept across reconnects: after every reconnect the transport subscribes it
 * again on a fresh channel (messages of the old channel come back redelivered), so what it does with a message is
 * `take`, and the channel it arrived on is passed along to settle it on.
 */
export interface ConsumerState {
  /** The broker queue subscribed to. */
  readonly source: string;
  readonly prefetch: number;
  stopped: boolean;
  channel: Channel | undefined;
  consumerTag: string | undefined;
  /** Handling under way; stop waits for it before closing the channel. */
  readonly inFlight: Set<Promise<void>>;
  /** Takes a message delivered on `channel`; that channel may close before the message is settled. */
  readonly take: (channel: Channel, message: ConsumeMessage) => void;
  /**
   * Set for a subscription whose queue may legitimately be missing (the publish-order queue, deleted to disable it):
   * a refused re-subscription is handed here, dropping the subscription, instead of failing the whole reconnect.
   */
  readonly refused?: (error: Error) => void;
}
