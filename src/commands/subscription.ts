import { readFile } from 'node:fs/promises';
import { toDisplay, type SubscriptionDisplay } from '../api/display.ts';
import { toHealthDisplay } from '../api/routes-health.ts';
import { createAppParts, type AppParts } from '../app.ts';
import { AsyncEventsError } from '../errors.ts';
import { fieldProblems, type NewSubscriptionInput, type SubscriptionChangeInput, type SubscriptionField } from '../store/subscription-service/index.ts';
import { LOCAL_OPERATOR, type SubscriptionOrdering } from '../types.ts';
import { fail, oneShotLogger, settingsFrom, usage, type Flags } from './common.ts';

/*
 * `subscription list | show | create | update | delete`: subscriptions from the command line, through the one
 * subscription service REST and GraphQL use (as the local operator, types.ts LOCAL_OPERATOR). This module only turns
 * flags into the service's input and its answers into lines: every rule is the service's, and its refusals are
 * printed under the flag that carried the field (exit 1). A subscription is shown as REST shows it (api/display.ts),
 * so the verification token never appears; the token itself is read from a file or stdin, never from the command
 * line, where `ps` and the shell history would keep it.
 */

/** What create and update take; commander has already checked the numbers' shape (cli.ts). */
export interface SubscriptionFlags extends Flags {
  readonly json?: boolean;
  readonly event?: string;
  readonly recipient?: string;
  readonly verificationTokenFile?: string;
  readonly sink?: string;
  readonly storeId?: string;
  /** false from `--no-filter` (update): remove the rule. */
  readonly filter?: string | false;
  readonly fields?: string | false;
  readonly maxPerSecond?: string | false;
  /** A SubscriptionOrdering, or 'none' for no ordering (cli.ts offers these). */
  readonly ordering?: SubscriptionOrdering | 'none';
  readonly active?: boolean;
  readonly inactive?: boolean;
}

/** `--header` values gathered into an object; false from `--no-headers` (update) removes them all. */
export type HeaderFlags = { readonly header?: Readonly<Record<string, string>>; readonly headers?: boolean };

/** Each service field under the flag that carries it. */
const FLAG_OF: Readonly<Record<SubscriptionField, string>> = {
  eventName: '--event',
  recipientUrl: '--recipient',
  verificationToken: '--verification-token-file',
  sink: '--sink',
  storeId: '--store-id',
  active: '--active/--inactive',
  filter: '--filter',
  fields: '--fields',
  headers: '--header',
  maxPerSecond: '--max-per-second',
  ordering: '--ordering',
  subscriptionId: 'ID',
  subscription: 'the subscription',
};

/** The flag a service field is given with, for refusals. */
export function flagOfField(field: SubscriptionField): string {
  return FLAG_OF[field];
}

async function withService<T>(flags: Flags, run: (parts: AppParts) => Promise<T>): Promise<T> {
  // One-shot: never creates a database, a key or tables (`migrate` or `start` do), never declares queues.
  const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), mustExist: true });
  try {
    return await run(parts);
  } finally {
    await parts.close();
  }
}

/** A refusal of the service, one line per problem under its flag (exit 1); anything else as every command fails. */
function refuse(error: unknown): never {
  const problems = fieldProblems(error);
  if (problems && problems.length > 0) {
    for (const problem of problems) console.error(`error [${problem.code}]: ${flagOfField(problem.field)}: ${problem.reason}`);
    process.exit(1);
  }
  fail(error);
}

/** The token file's content without the line end an editor or `echo` leaves; `-` reads stdin. */
async function readToken(file: string): Promise<string> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    usage(`--verification-token-file: cannot read ${file === '-' ? 'stdin' : `"${file}"`}: ${(error as Error).message}`);
  }
  return text.replace(/\r?\n$/, '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function activeFrom(flags: SubscriptionFlags): boolean | undefined {
  if (flags.active && flags.inactive) usage('give either --active or --inactive, not both');
  return flags.active ? true : flags.inactive ? false : undefined;
}

/** The rules as given: a value sets one, `--no-…` (false) removes it, left out keeps it. */
function rulesFrom(flags: SubscriptionFlags & HeaderFlags) {
  if (flags.headers === false && flags.header !== undefined) usage('give either --header or --no-headers, not both');
  const rule = (value: string | false | undefined) => (value === false ? null : value);
  return {
    ...(flags.filter !== undefined ? { filter: rule(flags.filter) } : {}),
    ...(flags.fields !== undefined ? { fields: rule(flags.fields) } : {}),
    ...(flags.header !== undefined ? { headers: { ...flags.header } } : flags.headers === false ? { headers: null } : {}),
    ...(flags.maxPerSecond !== undefined ? { maxPerSecond: flags.maxPerSecond === false ? null : Number(flags.maxPerSecond) } : {}),
    ...(flags.ordering !== undefined ? { ordering: flags.ordering === 'none' ? null : flags.ordering } : {}),
  };
}

export async function createInput(flags: SubscriptionFlags & HeaderFlags): Promise<NewSubscriptionInput> {
  // Required by commander (cli.ts); checked again for the types.
  if (flags.event === undefined || flags.recipient === undefined || flags.verificationTokenFile === undefined) {
    usage('give --event, --recipient and --verification-token-file');
  }
  const active = activeFrom(flags);
  return {
    eventName: flags.event,
    recipientUrl: flags.recipient,
    verificationToken: await readToken(flags.verificationTokenFile),
    ...(flags.sink !== undefined ? { sink: flags.sink } : {}),
    ...(flags.storeId !== undefined ? { storeId: Number(flags.storeId) } : {}),
    ...(active !== undefined ? { active } : {}),
    ...rulesFrom(flags),
  };
}

export async function changeInput(flags: SubscriptionFlags & HeaderFlags): Promise<SubscriptionChangeInput> {
  const active = activeFrom(flags);
  const change: SubscriptionChangeInput = {
    ...(flags.event !== undefined ? { eventName: flags.event } : {}),
    ...(flags.recipient !== undefined ? { recipientUrl: flags.recipient } : {}),
    ...(flags.verificationTokenFile !== undefined ? { verificationToken: await readToken(flags.verificationTokenFile) } : {}),
    ...(flags.sink !== undefined ? { sink: flags.sink } : {}),
    ...(flags.storeId !== undefined ? { storeId: Number(flags.storeId) } : {}),
    ...(active !== undefined ? { active } : {}),
    ...rulesFrom(flags),
  };
  if (Object.keys(change).length === 0) {
    usage('nothing to change: give one or more of --recipient, --verification-token-file, --sink, --store-id, --active, --inactive, --filter, --fields, --header, --max-per-second (or --no-filter, --no-fields, --no-headers, --no-max-per-second)');
  }
  return change;
}

/** The rules of a subscription in a few words, for the list. */
export function rulesSummary(display: SubscriptionDisplay): string {
  const parts = [
    display.filter !== undefined ? `filter ${display.filter}` : undefined,
    display.fields !== undefined ? `fields ${display.fields}` : undefined,
    display.headers !== undefined ? `headers ${Object.keys(display.headers).join(',')}` : undefined,
    display.max_per_second !== undefined ? `${display.max_per_second}/s` : undefined,
    display.ordering !== undefined ? `ordered by ${display.ordering}` : undefined,
  ].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? '-' : parts.join('; ');
}

/** A display object as `key: value` lines, nested objects indented (null shows as -). */
export function displayLines(value: Readonly<Record<string, unknown>>, indent = ''): string[] {
  return Object.entries(value).flatMap(([key, item]): string[] => {
    if (item === null || item === undefined) return [`${indent}${key}: -`];
    if (Array.isArray(item)) {
      return [`${indent}${key}:${item.length === 0 ? ' -' : ''}`, ...item.map((entry) => `${indent}  - ${typeof entry === 'object' && entry !== null ? Object.entries(entry).map(([k, v]) => `${k} ${String(v)}`).join(', ') : String(entry)}`)];
    }
    if (typeof item === 'object') return [`${indent}${key}:`, ...displayLines(item as Record<string, unknown>, `${indent}  `)];
    return [`${indent}${key}: ${String(item)}`];
  });
}

function printSubscription(display: SubscriptionDisplay, json: boolean | undefined): void {
  console.log(json ? JSON.stringify(display, null, 2) : displayLines(display).join('\n'));
}

/** Columns padded to their widest cell; the last one is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export async function list(flags: Flags & { json?: boolean }): Promise<void> {
  try {
    await withService(flags, async (parts) => {
      // As REST's GET /V1/async_events: a listing reads the store; the service only writes (and reads health).
      const { items } = await (await parts.store()).subscriptions.list({ sortOrders: [{ field: 'subscription_id', direction: 'ASC' }] });
      const displays = items.map(toDisplay);
      if (flags.json) {
        console.log(JSON.stringify(displays, null, 2));
        return;
      }
      if (displays.length === 0) {
        console.log('no subscriptions');
        return;
      }
      const rows = displays.map((d) => [String(d.subscription_id), d.event_name, d.recipient_url, d.status ? 'yes' : 'no', String(d.store_id), rulesSummary(d)]);
      console.log(table([['ID', 'EVENT', 'RECIPIENT', 'ACTIVE', 'STORE', 'RULES'], ...rows]));
    });
  } catch (error) {
    fail(error);
  }
}

export async function show(id: string, flags: Flags & { json?: boolean }): Promise<void> {
  try {
    await withService(flags, async (parts) => {
      const [service, store] = await Promise.all([parts.subscriptions(), parts.store()]);
      // health() answers SUBSCRIPTION_NOT_FOUND for an id without a subscription.
      const health = toHealthDisplay(await service.health(Number(id)));
      const found = await store.subscriptions.get(Number(id));
      // Deleted between the two reads.
      if (!found) throw new AsyncEventsError('SUBSCRIPTION_NOT_FOUND', `Subscription ${id} does not exist`, { id: Number(id) });
      const display = toDisplay(found);
      if (flags.json) console.log(JSON.stringify({ ...display, health }, null, 2));
      else console.log([...displayLines(display), ...displayLines({ health })].join('\n'));
    });
  } catch (error) {
    fail(error);
  }
}

export async function create(flags: SubscriptionFlags & HeaderFlags): Promise<void> {
  const input = await createInput(flags);
  try {
    await withService(flags, async (parts) => {
      const created = await (await parts.subscriptions()).create(LOCAL_OPERATOR, input);
      printSubscription(toDisplay(created), flags.json);
    });
  } catch (error) {
    refuse(error);
  }
}

export async function update(id: string, flags: SubscriptionFlags & HeaderFlags): Promise<void> {
  const change = await changeInput(flags);
  try {
    await withService(flags, async (parts) => {
      const updated = await (await parts.subscriptions()).update(LOCAL_OPERATOR, Number(id), change);
      printSubscription(toDisplay(updated), flags.json);
    });
  } catch (error) {
    refuse(error);
  }
}

export async function remove(id: string, flags: Flags): Promise<void> {
  try {
    await withService(flags, async (parts) => {
      await (await parts.subscriptions()).delete(LOCAL_OPERATOR, Number(id));
      console.log(`subscription ${id} deleted`);
    });
  } catch (error) {
    refuse(error);
  }
}
