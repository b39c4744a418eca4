import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startMagentoStandin, type MagentoStandin } from '../examples/magento-standin/server.ts';
import type { App, AppOptions } from './app.ts';
import type { HttpServer } from './api/http-server.ts';
import type { Settings } from './config/settings.ts';
import type { ConsumerName } from './delivery/consumers.ts';
import type { Logger } from './logger.ts';
import type { Subscription } from './types.ts';
import { onShutdownSignal } from './shutdown.ts';

/*
 * `npm start` = `async-events start --demo`: the real sidecar on embedded defaults (SQLite, database queue,
 * built-in search) plus two local helpers so the whole flow runs on a fresh clone:
 *  - a stand-in for Magento's REST API (examples/magento-standin) that answers the example events' callbacks with
 *    canned order/customer data, unless ASYNC_EVENTS_MAGENTO_URL points at a real Magento;
 *  - a receiver on 127.0.0.1 that checks the webhook signature.
 * It subscribes the receiver to `sales.order.created`, publishes one order event exactly as Magento's observer
 * would, waits for the delivery and prints its trace, then keeps serving the API and console.
 */

const DEMO_TOKEN = 'demo-verification-token';
const DEMO_INTEGRATION_TOKEN = 'demo-integration-token';
const DEMO_PATH = '/demo-webhook';

type StartServer = (settings: Settings, logger: Logger, consumers: readonly ConsumerName[], options?: Partial<AppOptions>) => Promise<{ app: App; http: HttpServer | undefined; stop: () => Promise<void> }>;

interface ReceivedWebhook {
  readonly id: string | undefined;
  readonly magentoSignatureValid: boolean;
  readonly body: string;
}

export async function runDemo(settings: Settings, logger: Logger, start: StartServer): Promise<void> {
  const standin: MagentoStandin | undefined = settings.magentoUrl ? undefined : await startMagentoStandin({ token: DEMO_INTEGRATION_TOKEN });
  const receiver = await startReceiver();
  const demoSettings: Settings = {
    ...settings,
    magentoUrl: standin?.url ?? settings.magentoUrl,
    magentoToken: standin ? DEMO_INTEGRATION_TOKEN : settings.magentoToken,
    // The receiver runs on loopback, which the private-address guard refuses unless allow-listed.
    allowedTargets: [...settings.allowedTargets, '127.0.0.1/32'],
  };
  const running = await start(demoSettings, logger, ['event.trigger.consumer', 'event.retry.consumer']);
  const stopAll = async () => {
    await running.stop();
    await receiver.close();
    await standin?.close();
  };
  onShutdownSignal(logger, stopAll, settings.shutdownTimeoutMs);
  const { app } = running;
  const base = running.http?.url ?? `http://localhost:${settings.port}`;

  const recipientUrl = `${receiver.url}${DEMO_PATH}`;
  const { subscription, changedByUser } = await demoSubscription(app, recipientUrl);

  const orderId = 1000 + Math.floor(Math.random() * 9000);
  const say = (line = '') => process.stdout.write(`${line}\n`);
  say();
  say(`async-events demo — embedded defaults: ${app.store.dialect === 'sqlite' ? 'SQLite' : 'MySQL'}, ${app.transport.kind === 'amqp' ? 'RabbitMQ' : 'database queue'}, ${app.search.kind} search`);
  say(`  Magento REST:   ${standin ? `${standin.url} (stand-in with canned data, examples/magento-standin)` : demoSettings.magentoUrl}`);
  say(`  subscription:   #${subscription.id} ${subscription.eventName} → ${subscription.recipientUrl}${subscription.active ? '' : ' (disabled)'}`);
  if (changedByUser) {
    say(`                  changed since the demo made it: left as you set it (delete it and restart to get a fresh one)`);
    if (!subscription.active || subscription.recipientUrl !== recipientUrl) {
      say('  not publishing: the demo receiver would get nothing. Serving until Ctrl-C.');
      return;
    }
  }
  say(`  publishing:     ["sales.order.created","{\\"id\\":${orderId}}","1"] on event.trigger`);
  await app.publish('sales.order.created', { id: orderId }, '1');

  const webhook = await receiver.next(20_000);
  if (!webhook?.id) {
    say('  ✗ no delivery arrived within 20 s; see the log above');
    return;
  }
  let attempts = await app.store.log.attempts(webhook.id);
  for (let i = 0; i < 50 && attempts.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    attempts = await app.store.log.attempts(webhook.id);
  }
  const chain = await app.store.log.chain(webhook.id);
  say(`  ✔ delivered:    POST ${recipientUrl}`);
  say(`                  webhook-id ${webhook.id}, x-magento-signature ${webhook.magentoSignatureValid ? 'verified' : 'INVALID'}`);
  say(`                  body ${webhook.body.length} bytes: ${webhook.body.slice(0, 120)}…`);
  say(`  trace ${webhook.id} (${chain?.status ?? 'unknown'}):`);
  for (const row of attempts) {
    say(`    log_id ${row.logId}  ${row.created.toISOString()}  ${row.success ? 'success' : 'failed '}  response ${row.responseData.slice(0, 60)}`);
  }
  say();
  say('Look around (another terminal):');
  // Only a person at a terminal sees the token; piped or collected output (CI, container logs) gets where it is.
  const token = process.stdout.isTTY === true ? demoSettings.apiToken : undefined;
  const tokenFile = path.join(settings.dataDir, 'api-token');
  const where = settings.origins.apiToken === 'generated' ? `in ${tokenFile}` : 'ASYNC_EVENTS_API_TOKEN';
  say(`  console:  ${base}/   (sign in with the API token: ${token ?? where})`);
  say(`  trace:    ${token ? '' : `TOKEN=... (${where}); `}curl -H "Authorization: Bearer ${token ?? '$TOKEN'}" ${base}/rest/V1/async_events/logs/${webhook.id}`);
  say(`  search:   npx async-events search 'event_name: sales.* AND success: true'`);
  say(`  publish:  npx async-events publish sales.order.created '{"id":42}' --store-id 1`);
  say('Serving until Ctrl-C.');
}

const DEMO_STATE_PATH = 'async_events/sidecar/demo_subscription';

/** Everything a user can change on a subscription, hashed: a different value means someone changed it. */
function fingerprint(subscription: Subscription): string {
  const { id, eventName, recipientUrl, verificationToken, active, metadata, storeId, modified } = subscription;
  return createHash('sha256')
    .update(JSON.stringify([id, eventName, recipientUrl, verificationToken, active, metadata, storeId, modified?.getTime() ?? null]))
    .digest('hex');
}

/**
 * The demo's own subscription. The receiver gets a new port at every start, so the demo moves the subscription it
 * made to the new URL, but only while it is exactly as the demo last left it (its fingerprint, kept in
 * core_config_data): one a user changed (disabled, pointed elsewhere, a new token…) is theirs and is left alone.
 */
async function demoSubscription(app: App, recipientUrl: string): Promise<{ subscription: Subscription; changedByUser: boolean }> {
  const { subscriptions, configValues } = app.store;
  let recorded: { id?: unknown; fingerprint?: unknown } = {};
  try {
    recorded = JSON.parse((await configValues.get(DEMO_STATE_PATH)) ?? '{}') as typeof recorded;
  } catch {
    // unreadable: as on a first start
  }
  const current = typeof recorded.id === 'number' ? await subscriptions.get(recorded.id) : undefined;
  if (current && fingerprint(current) !== recorded.fingerprint) return { subscription: current, changedByUser: true };
  let id: number;
  if (!current) id = (await subscriptions.create({ eventName: 'sales.order.created', recipientUrl, verificationToken: DEMO_TOKEN, metadata: 'http', storeId: 0 })).id;
  else if (current.recipientUrl !== recipientUrl) id = (await subscriptions.update(current.id, { recipientUrl })).id;
  else id = current.id;
  // Read back, so the fingerprint is of the stored row (its `modified` as the database keeps it).
  const stored = await subscriptions.get(id);
  if (!stored) throw new Error(`the demo subscription #${id} vanished while it was being set up`);
  await configValues.set(DEMO_STATE_PATH, JSON.stringify({ id, fingerprint: fingerprint(stored) }));
  return { subscription: stored, changedByUser: false };
}

async function startReceiver(): Promise<{ url: string; next(timeoutMs: number): Promise<ReceivedWebhook | undefined>; close(): Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  const waiters: ((webhook: ReceivedWebhook) => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const expected = createHmac('sha256', DEMO_TOKEN).update(body).digest('hex');
      const given = String(req.headers['x-magento-signature'] ?? '');
      const webhook: ReceivedWebhook = {
        id: typeof req.headers['webhook-id'] === 'string' ? req.headers['webhook-id'] : undefined,
        magentoSignatureValid: given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected)),
        body: body.toString('utf8'),
      };
      res.writeHead(webhook.magentoSignatureValid ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ received: webhook.magentoSignatureValid }));
      const waiter = waiters.shift();
      if (waiter) waiter(webhook);
      else received.push(webhook);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    next: (timeoutMs) => {
      const ready = received.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        waiters.push((webhook) => {
          clearTimeout(timer);
          resolve(webhook);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
