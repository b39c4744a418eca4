import { createHash } from 'node:crypto';
import net from 'node:net';
import { type ChannelModel, type ConfirmChannel, connect, type Message } from 'amqplib';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { createAddressGuard, type Resolver } from './address-guard.ts';
import { type AmqpRecipient, connectionIdentity, parseAmqpRecipient } from './amqp-recipient.ts';
import { truncateUtf8 } from './http.ts';
import { createInFlight } from './in-flight.ts';
import { CLOUDEVENT_CONTENT_TYPE, cloudEventBody } from './payload.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

export interface AmqpSinkOptions {
  readonly logger: Logger;
  /** `ASYNC_EVENTS_ALLOWED_TARGETS`: brokers on private addresses must be listed, as webhook hosts must. */
  readonly allowedTargets: readonly string[];
  readonly connectTimeoutMs?: number;
  /** How long a publish may wait for the broker's confirm. */
  readonly confirmTimeoutMs?: number;
  readonly resolve?: Resolver;
}

/** Header carrying our publish number, so a basic.return can be matched to the publish it undoes. */
const PUBLISH_ID_HEADER = 'x-async-events-publish';
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** A failure with its retry decision, made where the broker's answer is read. */
class PublishFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

interface Broker {
  readonly key: string;
  readonly model: Promise<ChannelModel>;
  channel?: Promise<PublishChannel>;
  inFlight: number;
  closed: boolean;
}

interface PublishChannel {
  readonly channel: ConfirmChannel;
  /** Publish ids the broker returned as unroutable; the return arrives before the confirm of the same publish. */
  readonly returned: Set<number>;
  closeError?: Error;
  closed: boolean;
}

/**
 * The `amqp` sink (beyond upstream): publishes the structured CloudEvent to an exchange of any RabbitMQ, with
 * publisher confirms and the mandatory flag, so success means the broker has routed the message to at least one
 * queue and taken responsibility for it. One connection and confirm channel per broker, user and vhost.
 */
export function createAmqpSink(options: AmqpSinkOptions): Sink {
  const logger = options.logger.child({ sink: 'amqp' });
  const guard = createAddressGuard({ allowedTargets: options.allowedTargets, ...(options.resolve ? { resolve: options.resolve } : {}) });
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 15_000;
  const brokers = new Map<string, Broker>();
  const inFlight = createInFlight();
  let nextPublishId = 1;

  function brokerFor(recipient: AmqpRecipient, password: string): Broker {
    const key = createHash('sha256').update(connectionIdentity(recipient)).update('\0').update(password).digest('hex');
    const existing = brokers.get(key);
    if (existing && !existing.closed) return existing;
    if (!guard.hostAllowed(recipient.host) && net.isIP(recipient.host) !== 0) {
      const reason = guard.refusal(recipient.host);
      if (reason !== undefined) {
        throw new PublishFailure(
          `broker ${recipient.host} is a ${reason} address; refused by the private-address guard. If it is intended, add it to ASYNC_EVENTS_ALLOWED_TARGETS`,
          false,
        );
      }
    }
    const model = connect(
      {
        protocol: recipient.protocol.slice(0, -1),
        hostname: recipient.host,
        port: recipient.port,
        username: recipient.username,
        password,
        vhost: recipient.vhost,
      },
      { timeout: connectTimeoutMs, lookup: guard.lookup, ...(recipient.protocol === 'amqps:' ? { servername: recipient.host } : {}) },
    );
    const broker: Broker = { key, model, inFlight: 0, closed: false };
    model.then(
      (connection) => {
        connection.on('error', (error: Error) => logger.debug({ err: error }, 'amqp sink connection error'));
        connection.on('close', () => forget(broker));
      },
      () => forget(broker),
    );
    brokers.set(key, broker);
    return broker;
  }

  function forget(broker: Broker): void {
    broker.closed = true;
    if (brokers.get(broker.key) === broker) brokers.delete(broker.key);
  }

  async function channelOf(broker: Broker): Promise<PublishChannel> {
    const current = broker.channel;
    if (current) {
      const open = await current.catch(() => undefined);
      if (open && !open.closed) return open;
    }
    const created = (async () => {
      const channel = await (await broker.model).createConfirmChannel();
      const state: PublishChannel = { channel, returned: new Set(), closed: false };
      channel.on('return', (message: Message) => {
        const id = Number(message.properties.headers?.[PUBLISH_ID_HEADER]);
        if (Number.isInteger(id)) state.returned.add(id);
      });
      channel.on('error', (error: Error) => {
        state.closeError = error;
      });
      channel.on('close', () => {
        state.closed = true;
      });
      return state;
    })();
    broker.channel = created;
    return created;
  }

  async function publish(recipient: AmqpRecipient, password: string, attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    const broker = brokerFor(recipient, password);
    broker.inFlight++;
    try {
      const state = await channelOf(broker);
      const id = nextPublishId++;
      const { payload } = attempt;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new PublishFailure(`no publisher confirm within ${confirmTimeoutMs} ms`, true)), confirmTimeoutMs);
        state.channel.publish(
          recipient.exchange,
          recipient.routingKey,
          Buffer.from(cloudEventBody(payload), 'utf8'),
          {
            mandatory: true,
            persistent: true,
            contentType: CLOUDEVENT_CONTENT_TYPE,
            messageId: payload.uuid,
            type: payload.eventName,
            timestamp: Math.floor(Date.now() / 1000),
            headers: { [PUBLISH_ID_HEADER]: id },
          },
          (error: unknown) => {
            clearTimeout(timer);
            if (error) reject(state.closeError ?? error);
            else resolve();
          },
        );
      });
      if (state.returned.delete(id)) {
        // A consumer may bind its queue later, so this is worth another attempt.
        throw new PublishFailure(
          `RabbitMQ could not route the message: no queue is bound to exchange "${recipient.exchange || '(default)'}" with routing key "${recipient.routingKey}" in vhost "${recipient.vhost}"`,
          true,
        );
      }
      return { success: true, retryable: false, responseData: truncateUtf8(JSON.stringify({ exchange: recipient.exchange, routingKey: recipient.routingKey, confirmed: true })) };
    } finally {
      broker.inFlight--;
    }
  }

  async function deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    const { subscription } = attempt;
    let recipient: AmqpRecipient;
    try {
      recipient = parseAmqpRecipient(subscription.recipientUrl);
    } catch (error) {
      if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return final(`subscription ${subscription.id}: ${error.message}`);
      throw error;
    }
    if (attempt.signal?.aborted) throw new AsyncEventsError('SHUTTING_DOWN', `delivery to subscription ${subscription.id} aborted`);
    try {
      return await inFlight.run(publish(recipient, subscription.verificationToken, attempt));
    } catch (error) {
      logger.debug({ subscriptionId: subscription.id, uuid: attempt.payload.uuid, err: error }, 'amqp delivery failed');
      return outcomeForAmqpError(error, recipient);
    }
  }

  return {
    key: 'amqp',
    unusableReason: async () => undefined,
    deliver,
    async close() {
      await inFlight.settled();
      const open = [...brokers.values()];
      brokers.clear();
      await Promise.allSettled(open.map(async (broker) => (await broker.model).close()));
    },
  };
}

function final(message: string): DeliveryOutcome {
  return { success: false, retryable: false, responseData: truncateUtf8(message) };
}

/** What went wrong talking to the broker, in the subscription's terms. */
export function outcomeForAmqpError(error: unknown, recipient: AmqpRecipient): DeliveryOutcome {
  const where = `${recipient.protocol}//${recipient.username}@${recipient.host}:${recipient.port}/${encodeURIComponent(recipient.vhost)}`;
  if (error instanceof PublishFailure) return { success: false, retryable: error.retryable, responseData: truncateUtf8(`${where}: ${error.message}`) };
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (/\b403\b|ACCESS[-_]REFUSED/.test(message)) {
    return final(`${where}: RabbitMQ refused user "${recipient.username}" (${message}); the password is the subscription's verification token: update it, or the user's permissions on the vhost`);
  }
  if (/\b530\b|NOT[-_]ALLOWED/.test(message)) {
    return final(`${where}: RabbitMQ refused vhost "${recipient.vhost}" (${message}); check the vhost in recipient_url and the user's permissions`);
  }
  if (/\b404\b|NOT[-_]FOUND/.test(message)) {
    return final(`${where}: exchange "${recipient.exchange}" does not exist (${message}); declare it on the broker or fix recipient_url`);
  }
  // Network trouble and the broker closing on us are worth another attempt; a message the broker rejects as such is not.
  const retryable = (typeof code === 'string' && NETWORK_CODES.has(code)) || !/PRECONDITION[-_]FAILED|COMMAND[-_]INVALID|FRAME[-_]ERROR|SYNTAX[-_]ERROR|NOT[-_]IMPLEMENTED/.test(message);
  return { success: false, retryable, responseData: truncateUtf8(`${where}: ${message}${typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''}`) };
}
