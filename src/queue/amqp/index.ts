export { createAmqpTransport, type AmqpTransportOptions } from './transport.ts';
