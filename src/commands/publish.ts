import { createAppParts } from '../app.ts';
import { AsyncEventsError, coerceError } from '../errors.ts';
import { encodeTriggerMessage } from '../queue/publish.ts';
import { fail, oneShotLogger, settingsFrom, usage, type Flags } from './common.ts';

/**
 * `publish`: one message onto event.trigger, as the PHP publisher writes it. Observers, cron jobs and scripts call
 * this, so it opens only the queue (and the registry, to warn about an unknown event) and sets nothing up unless
 * `--setup` asks.
 */
export async function publish(event: string, json: string, flags: Flags & { storeId: string; setup?: boolean }): Promise<void> {
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch (error) {
    usage(`the arguments are not valid JSON: ${coerceError(error).message}`);
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    usage('the arguments must be a JSON object of named service arguments, e.g. \'{"id":42}\'');
  }
  try {
    const setup = flags.setup === true;
    // Without --setup nothing is created: a missing SQLite file is an error, not a new empty database.
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), migrate: setup, declareTopology: setup, schemaCheck: false, mustExist: !setup });
    try {
      const [{ loaded }, transport] = await Promise.all([parts.config(), parts.transport()]);
      if (!loaded.registry.has(event)) console.error(`warning: no enabled module declares "${event}"; the consumer will park the message`);
      await transport.publishTrigger(encodeTriggerMessage(event, args as Record<string, unknown>, flags.storeId));
      console.log(`published ${event} to ${transport.kind === 'amqp' ? 'RabbitMQ' : 'the database queue'}`);
    } finally {
      await parts.close();
    }
  } catch (error) {
    fail(missingTables(error) ?? error);
  }
}

/** The database queue's tables not there yet (SQLite "no such table", MySQL ER_NO_SUCH_TABLE): say what creates them. */
function missingTables(error: unknown): AsyncEventsError | undefined {
  const err = coerceError(error);
  const code = (err as { code?: unknown }).code;
  if (!/no such table/i.test(err.message) && code !== 'ER_NO_SUCH_TABLE') return undefined;
  return new AsyncEventsError('STORE_UNAVAILABLE', `the database has no queue tables yet (${err.message}): run \`async-events migrate\` (or \`start\`), or publish with --setup`, {}, { cause: err });
}
