import { loadSettings, type Settings } from '../config/settings.ts';
import { coerceError, isAsyncEventsError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';

/* What every command shares: its flags, how it reads the settings, its logger and how it fails. */

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** The string-valued flags, which are the settings' (booleans such as --demo are the command's own). */
export function settingFlags(flags: Flags): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(flags).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export async function settingsFrom(flags: Flags): Promise<Settings> {
  return loadSettings({ flags: settingFlags(flags) });
}

/** Long-running commands log at info, pretty on a terminal. */
export function serviceLogger(): Logger {
  return createLogger({ pretty: process.stdout.isTTY === true && process.env.ASYNC_EVENTS_LOG_FORMAT !== 'json' });
}

/** One-shot commands print their own results; their log says only what went wrong. */
export function oneShotLogger(): Logger {
  return createLogger({ level: process.env.ASYNC_EVENTS_LOG_LEVEL ?? 'warn' });
}

export function fail(error: unknown): never {
  const err = coerceError(error);
  console.error(isAsyncEventsError(err) ? `error [${err.code}]: ${err.message}` : `error: ${err.stack ?? err.message}`);
  // A flag's value the settings refuse is an unusable argument, as commander's own refusals are (exit 2).
  process.exit(isAsyncEventsError(err, 'SETTING_INVALID') && typeof err.details.flag === 'string' ? 2 : 1);
}

/** A usage error: exit 2, as commander does for unusable arguments. */
export function usage(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}
