import { AsyncEventsError } from '../errors.ts';

/**
 * Where an `amqp` subscription publishes: `amqp(s)://user@host[:port]/vhost/exchange/routing-key`. Each segment is
 * URL-encoded (`%2F` is the default vhost `/`); an empty exchange segment is RabbitMQ's default exchange, whose
 * routing key is a queue name. The password is the subscription's verification token, never the URL, so it is
 * stored encrypted like every other token.
 */
export interface AmqpRecipient {
  readonly protocol: 'amqp:' | 'amqps:';
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly routingKey: string;
}

export const AMQP_RECIPIENT_FORMAT = 'amqp(s)://user@host[:port]/vhost/exchange/routing-key';

export function parseAmqpRecipient(recipientUrl: string): AmqpRecipient {
  const refuse = (why: string) =>
    new AsyncEventsError('SINK_NOT_CONFIGURED', `recipient_url "${recipientUrl}" ${why}; expected ${AMQP_RECIPIENT_FORMAT}`, { path: 'recipient_url' });
  let url: URL;
  try {
    url = new URL(recipientUrl);
  } catch {
    throw refuse('is not a URL');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') throw refuse(`has the scheme "${url.protocol}"`);
  if (url.password !== '') throw refuse('contains a password: put the password in the verification token instead');
  if (url.username === '') throw refuse('names no user');
  const segments = url.pathname.split('/').slice(1);
  if (segments.length < 3) throw refuse('does not name vhost, exchange and routing key');
  const [vhost, exchange, ...routingKey] = segments.map((segment) => decodeURIComponent(segment)) as [string, string, ...string[]];
  if (vhost === '') throw refuse('has an empty vhost (write %2F for the default vhost "/")');
  return {
    protocol: url.protocol,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (url.protocol === 'amqps:' ? 5671 : 5672) : Number(url.port),
    username: decodeURIComponent(url.username),
    vhost,
    exchange,
    routingKey: routingKey.join('/'),
  };
}

/** The broker and identity a recipient connects as; one connection is kept per distinct one. */
export function connectionIdentity(recipient: AmqpRecipient): string {
  return JSON.stringify([recipient.protocol, recipient.host, recipient.port, recipient.username, recipient.vhost]);
}
