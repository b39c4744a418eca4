import { createAppParts } from '../app.ts';
import { coerceError } from '../errors.ts';
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
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), migrate: setup, declareTopology: setup, schemaCheck: false });
    try {
      const [{ loaded }, transport] = await Promise.all([parts.config(), parts.transport()]);
      if (!loaded.registry.has(event)) console.error(`warning: no enabled module declares "${event}"; the consumer will park the message`);
      await transport.publishTrigger(encodeTriggerMessage(event, args as Record<string, unknown>, flags.storeId));
      console.log(`published ${event} to ${transport.kind === 'amqp' ? 'RabbitMQ' : 'the database queue'}`);
    } finally {
      await parts.close();
    }
  } catch (error) {
    fail(error);
  }
}
