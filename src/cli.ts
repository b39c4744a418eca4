import { Command, InvalidArgumentError, Option } from 'commander';
import { flagOf, LOG_FORMATS, LOG_LEVELS, NUMERIC_SETTINGS, PROCESS_VARIABLES, SETTING_VARIABLES, TUNING_VARIABLES } from './config/setting-variables.ts';
import type { HeaderFlags, SubscriptionFlags } from './commands/subscription.ts';
import { PACKAGE_VERSION } from './package-root.ts';
import { SUBSCRIPTION_ORDERINGS } from './types.ts';

/*
 * `async-events`: the command table. Only commander and this table load before the arguments are parsed; each
 * command imports its own modules (src/commands/*) when it runs, so `--help` and one-shot commands such as
 * `publish` start fast. Exit codes: 0 done, 1 failed or invalid, 2 unusable arguments.
 */

type Flags = Record<string, string | boolean | undefined>;
type SubscriptionCommandFlags = SubscriptionFlags & HeaderFlags;

/** Whole numbers only (within max when given), reported under the flag's name by commander when not. */
export function wholeNumber(min: number, max?: number): (value: string) => string {
  const range = max !== undefined ? ` from ${min} to ${max}` : min > 0 ? ` ≥ ${min}` : '';
  return (value) => {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || n < min || (max !== undefined && n > max)) throw new InvalidArgumentError(`expected a whole number${range}, got "${value}".`);
    return value.trim();
  };
}

/** A number (fractions allowed, as for a rate), reported under the flag's name by commander when not. */
export function decimalNumber(value: string): string {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new InvalidArgumentError(`expected a number such as 20 or 0.5, got "${value}".`);
  return value.trim();
}

/** `--header 'Name: value'`, repeatable, gathered into one object; the service checks names and values. */
export function headerLine(value: string, previous: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon < 0) throw new InvalidArgumentError(`expected "Name: value", got "${value}".`);
  const name = value.slice(0, colon).trim();
  if (previous && Object.hasOwn(previous, name)) throw new InvalidArgumentError(`header "${name}" is given twice.`);
  return { ...previous, [name]: value.slice(colon + 1).trim() };
}

/** Subscription ids are int unsigned in upstream's table. */
const subscriptionId = wholeNumber(1, 4_294_967_295);

/** The flags create and update share; update adds --active and the --no-… removals. */
function addSubscriptionFlags(command: Command, change: boolean): Command {
  const rule = change ? ' (left out: kept)' : '';
  const event = 'event name or pattern, e.g. sales.order.created or sales.order.*';
  const recipient = "recipient URL (http sink) or the sink's target";
  const token = 'file holding the verification token the deliveries are signed with (- reads stdin); never on the command line itself';
  if (change) command.option('--event <name>', 'the event name: when given, must be the stored one').option('--recipient <url>', recipient).option('--verification-token-file <path>', `${token}; replaces the token`);
  else command.requiredOption('--event <name>', event).requiredOption('--recipient <url>', recipient).requiredOption('--verification-token-file <path>', token);
  command
    .option('--sink <key>', change ? 'sink key' : 'sink key (default http)')
    .addOption(new Option('--store-id <n>', change ? 'store id (0: every store)' : 'store id (default 0: every store)').argParser(wholeNumber(0)))
    .option('--filter <query>', `deliver only events this search query matches, e.g. 'data.status: processing'${rule}`)
    .option('--fields <selection>', `Magento REST fields selection of the data, e.g. 'entity_id,items[sku]'${rule}`)
    .addOption(new Option('--header <line>', `extra request header 'Name: value' (repeatable)${change ? '; replaces every extra header' : ''}`).argParser(headerLine))
    .addOption(new Option('--max-per-second <n>', `deliveries per second at most${rule}`).argParser(decimalNumber))
    .addOption(new Option('--ordering <kind>', `entity: one entity's events in publish order, across retries; none: no order${change ? ' (fixed at creation: only the stored value is accepted)' : ''}`).choices([...SUBSCRIPTION_ORDERINGS, 'none']))
    .option('--inactive', change ? 'disable it' : 'create it disabled')
    .option('--json', 'print the subscription as JSON');
  if (change) {
    command
      .option('--active', 'enable it (clears an auto-disable reason)')
      .option('--no-filter', 'remove the filter')
      .option('--no-fields', 'remove the fields selection')
      .option('--no-headers', 'remove every extra header')
      .option('--no-max-per-second', 'remove the rate limit');
  }
  return command;
}

/** Every setting variable is also a flag: ASYNC_EVENTS_MAGENTO_ROOT → --magento-root. */
function addSettingFlags(command: Command, extra: Readonly<Record<string, string>> = {}): Command {
  for (const [variable, description] of Object.entries({ ...SETTING_VARIABLES, ...PROCESS_VARIABLES, ...extra })) {
    const option = new Option(`--${flagOf(variable)} <value>`, `${description} (${variable})`);
    if (NUMERIC_SETTINGS.has(variable)) option.argParser(wholeNumber(0));
    if (variable === 'ASYNC_EVENTS_LOG_LEVEL') option.choices(LOG_LEVELS);
    if (variable === 'ASYNC_EVENTS_LOG_FORMAT') option.choices(LOG_FORMATS);
    if (variable in TUNING_VARIABLES) option.argParser(wholeNumber(1));
    command.addOption(option);
  }
  return command;
}

/** Flags of values the command line reads from the environment itself (log level, tuning): they win over it. */
function applyProcessFlags(flags: Flags): void {
  for (const variable of [...Object.keys(PROCESS_VARIABLES), ...Object.keys(TUNING_VARIABLES)]) {
    const key = flagOf(variable).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const value = flags[key];
    if (typeof value === 'string') process.env[variable] = value;
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('async-events')
    .description('Reliable asynchronous event delivery for Magento 2: a drop-in sidecar for Mage-OS Async Events')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 1 && err.code !== 'commander.helpDisplayed' && err.code !== 'commander.version' ? 2 : err.exitCode));
  program.hook('preAction', (_program, command) => applyProcessFlags(command.opts<Flags>()));

  addSettingFlags(
    program
      .command('start')
      .description('run REST + GraphQL + web console + both consumers in one process')
      .option('--demo', 'also start a Magento stand-in and a local receiver, publish an example order and show its trace'),
    TUNING_VARIABLES,
  ).action(async (flags: Flags) => (await import('./commands/start.ts')).start(flags));

  addSettingFlags(
    program
      .command('consumer:start')
      .description('run one consumer alone: event.trigger.consumer or event.retry.consumer')
      .argument('<consumer>', 'event.trigger.consumer | event.retry.consumer'),
    TUNING_VARIABLES,
  ).action(async (name: string, flags: Flags) => (await import('./commands/start.ts')).startConsumer(name, flags));

  addSettingFlags(program.command('validate').description('find and validate every etc/async_events.xml of the enabled modules')).action(async (flags: Flags) =>
    (await import('./commands/validate.ts')).validate(flags),
  );

  addSettingFlags(
    program
      .command('generate')
      .description('write the PHP bridge module (MageOS_AsyncEvents) for the configured Magento root')
      .requiredOption('--out <dir>', 'where to write the module, e.g. app/code/MageOS/AsyncEvents')
      .option('--console-url <url>', 'URL of this sidecar console, for the admin menu entry'),
  ).action(async (flags: Flags & { out: string; consoleUrl?: string }) => (await import('./commands/generate.ts')).generate(flags));

  addSettingFlags(program.command('migrate').description('create or upgrade the tables in the configured database (never drops data)')).action(async (flags: Flags) =>
    (await import('./commands/migrate.ts')).migrate(flags),
  );

  addSettingFlags(
    program
      .command('publish')
      .description('publish a trigger message exactly as the PHP AsyncEventPublisher would')
      .argument('<event>', 'event name, e.g. sales.order.created')
      .argument('<json>', "the service arguments as a JSON object, e.g. '{\"id\":42}'")
      .addOption(new Option('--store-id <id>', 'store id of the event').argParser(wholeNumber(0)).default('0'))
      .option('--setup', 'first create missing tables and declare the RabbitMQ queues (as `start` does)'),
  ).action(async (event: string, json: string, flags: Flags & { storeId: string; setup?: boolean }) => (await import('./commands/publish.ts')).publish(event, json, flags));

  addSettingFlags(
    program
      .command('replay')
      .description('replay one delivery (a new chain under the same UUID), or every delivery a Lucene query matches')
      .argument('[uuid]', 'UUID of the delivery')
      .option('--query <lucene>', 'replay every chain this query matches'),
  ).action(async (uuid: string | undefined, flags: Flags & { query?: string }) => (await import('./commands/replay.ts')).replay(uuid, flags));

  addSettingFlags(
    program
      .command('search')
      .description('search the delivery log with Lucene syntax')
      .argument('<query>', "e.g. 'event_name: sales.* AND success: false'")
      .option('--csv', 'print every match as CSV (log_id, uuid, event_name, success, created, subscription_id, recipient_url, response_data)')
      .addOption(new Option('--limit <n>', 'rows to print without --csv (1-1000)').argParser(wholeNumber(1, 1000)).default('20')),
  ).action(async (query: string, flags: Flags & { csv?: boolean; limit: string }) => (await import('./commands/search.ts')).search(query, flags));

  addSettingFlags(program.command('reindex').description('rebuild the Elasticsearch index from the delivery log')).action(async (flags: Flags) =>
    (await import('./commands/reindex.ts')).reindex(flags),
  );

  const parked = addSettingFlags(
    program
      .command('parked')
      .description('list parked messages (id, queue, parked at, reason), newest first')
      .addOption(new Option('--limit <n>', 'messages to list (1-1000)').argParser(wholeNumber(1, 1000)).default('100')),
  ).action(async (flags: Flags & { limit: string }) => (await import('./commands/parked.ts')).parked(flags));
  addSettingFlags(
    parked
      .command('redrive')
      .description('put parked messages back on their queues unchanged and off the parked list')
      .argument('[ids...]', 'ids from `async-events parked`')
      .option('--all', 'every parked message'),
  ).action(async (ids: string[], flags: Flags & { all?: boolean }) => (await import('./commands/parked.ts')).redrive(ids, flags));

  const subscription = program.command('subscription').description('list, show, create, change and delete subscriptions (the rules REST and GraphQL apply)');
  addSettingFlags(subscription.command('list').description('every subscription: id, event, recipient, active, store, rules').option('--json', 'print them as JSON')).action(
    async (flags: Flags & { json?: boolean }) => (await import('./commands/subscription.ts')).list(flags),
  );
  addSettingFlags(
    subscription.command('show').description('one subscription with all its rules and its delivery health').argument('<id>', 'subscription id', subscriptionId).option('--json', 'print it as JSON'),
  ).action(async (id: string, flags: Flags & { json?: boolean }) => (await import('./commands/subscription.ts')).show(id, flags));
  addSettingFlags(
    addSubscriptionFlags(subscription.command('create').description('create a subscription; prints it (never its token)'), false),
  ).action(async (flags: SubscriptionCommandFlags) => (await import('./commands/subscription.ts')).create(flags));
  addSettingFlags(
    addSubscriptionFlags(subscription.command('update').description('change the given fields of a subscription; prints it (never its token)').argument('<id>', 'subscription id', subscriptionId), true),
  ).action(async (id: string, flags: SubscriptionCommandFlags) => (await import('./commands/subscription.ts')).update(id, flags));
  addSettingFlags(subscription.command('delete').description('delete a subscription (and its rules and health)').argument('<id>', 'subscription id', subscriptionId)).action(
    async (id: string, flags: Flags) => (await import('./commands/subscription.ts')).remove(id, flags),
  );

  addSettingFlags(program.command('doctor').description('check every configured part and say what is wrong and how to fix it')).action(async (flags: Flags) => {
    const { runDoctor } = await import('./doctor.ts');
    process.exit(await runDoctor(flags, { log: (l) => console.log(l) }));
  });

  await program.parseAsync(argv);
}
