import { createHmac, randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import { coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/*
 * Operator alerts: signed JSON events POSTed to `system/async_events/alert_url`, with the Standard Webhooks
 * headers (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. The key is the secret of
 * `system/async_events/alert_secret`: a `whsec_<base64>` secret is decoded as the Standard Webhooks libraries do,
 * any other text is used as its UTF-8 bytes (the libraries then take 'whsec_' + base64(secret)).
 *
 * Fire and forget: `send` only queues. A small bounded queue and a short timeout keep an alert URL that is down
 * or slow from holding anything but its own queue; when the queue is full the new alert is dropped and counted.
 * Every alert is also a log line and a count in `async_events_alerts_total{type,result}`.
 */

export type AlertType = 'subscription.failing' | 'subscription.disabled' | 'chain.dead';

export interface AlertTarget {
  readonly url: string;
  readonly secret: string;
}

export interface AlertSender {
  /** Logs the alert, counts it and queues its delivery; never throws, never waits. */
  send(type: AlertType, data: Readonly<Record<string, unknown>>): void;
  /** Resolves when every queued alert has been sent or given up (tests, shutdown). */
  idle(): Promise<void>;
  /** Shutdown: lets queued alerts go for up to `graceMs`, then cuts off what still runs. */
  close(graceMs?: number): Promise<void>;
}

export interface AlertSenderOptions {
  readonly target: () => Promise<AlertTarget | undefined>;
  readonly logger: Logger;
  /** Registry of the alerts counter; none: not counted (commands without /metrics). */
  readonly registry?: Registry;
  readonly queueLimit?: number;
  readonly timeoutMs?: number;
  readonly concurrency?: number;
  readonly now?: () => Date;
}

export const ALERT_QUEUE_LIMIT = 100;
export const ALERT_TIMEOUT_MS = 5000;

type AlertResult = 'sent' | 'failed' | 'dropped' | 'unconfigured';

function alertsCounter(registry: Registry): Counter<'type' | 'result'> {
  const name = 'async_events_alerts_total';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'type' | 'result'>;
  return new Counter({ name, help: 'Operator alerts by type and what became of them (sent, failed, dropped, unconfigured).', labelNames: ['type', 'result'], registers: [registry] });
}

/** The key bytes of an alert secret, as the Standard Webhooks libraries derive them. */
export function alertKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

export function alertHeaders(id: string, timestampSeconds: number, body: string, secret: string): Record<string, string> {
  const signature = createHmac('sha256', alertKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}

interface Queued {
  readonly type: AlertType;
  readonly id: string;
  readonly body: string;
}

export function createAlertSender(options: AlertSenderOptions): AlertSender {
  const limit = options.queueLimit ?? ALERT_QUEUE_LIMIT;
  const timeoutMs = options.timeoutMs ?? ALERT_TIMEOUT_MS;
  const concurrency = options.concurrency ?? 2;
  const now = options.now ?? (() => new Date());
  const counter = options.registry ? alertsCounter(options.registry) : undefined;
  const logger = options.logger.child({ component: 'alerts' });
  const queue: Queued[] = [];
  const closing = new AbortController();
  let active = 0;
  let waiters: (() => void)[] = [];

  const count = (type: AlertType, result: AlertResult): void => counter?.inc({ type, result });

  function settleWaiters(): void {
    if (active > 0 || queue.length > 0) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  }

  async function deliver(item: Queued): Promise<void> {
    let target: AlertTarget | undefined;
    try {
      target = await options.target();
    } catch (error) {
      logger.warn({ err: coerceError(error), alert: item.type }, 'cannot read the alert URL; alert not sent');
      count(item.type, 'failed');
      return;
    }
    if (!target) {
      count(item.type, 'unconfigured');
      return;
    }
    const timestamp = Math.floor(now().getTime() / 1000);
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: alertHeaders(item.id, timestamp, item.body, target.secret),
        body: item.body,
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]),
        redirect: 'manual',
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        count(item.type, 'sent');
      } else {
        count(item.type, 'failed');
        logger.warn({ alert: item.type, id: item.id, status: response.status }, `alert URL answered ${response.status}; alert not delivered`);
      }
    } catch (error) {
      count(item.type, 'failed');
      logger.warn({ alert: item.type, id: item.id, reason: coerceError(error).message }, 'alert URL unreachable; alert not delivered');
    }
  }

  function idle(): Promise<void> {
    return new Promise((resolve) => {
      waiters.push(resolve);
      settleWaiters();
    });
  }

  function pump(): void {
    while (active < concurrency && queue.length > 0) {
      const item = queue.shift();
      if (!item) break;
      active++;
      void deliver(item).finally(() => {
        active--;
        pump();
        settleWaiters();
      });
    }
  }

  return {
    send(type, data) {
      const id = `alert_${randomUUID()}`;
      const body = JSON.stringify({ type, timestamp: now().toISOString(), data });
      logger.warn({ alert: type, id, data }, `alert ${type}`);
      if (queue.length >= limit || closing.signal.aborted) {
        count(type, 'dropped');
        logger.warn({ alert: type, id, queued: queue.length }, 'alert queue full (the alert URL is slow or down); alert dropped');
        return;
      }
      queue.push({ type, id, body });
      pump();
    },
    idle,
    async close(graceMs = 1000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const item of queue.splice(0)) count(item.type, 'dropped');
      closing.abort();
      await idle();
    },
  };
}
