export { createDatabaseQueue, type DatabaseQueueOptions } from './transport.ts';
