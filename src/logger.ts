import { pino, type Logger } from 'pino';
import { LOG_LEVELS } from './config/setting-variables.ts';
import { AsyncEventsError } from './errors.ts';

export type { Logger };

/**
 * The process logger. Every part receives a child of it (`logger.child({ stage: 'queue' })`) instead of importing
 * a global, so tests inject a silent one. Verification tokens and API tokens are redacted wherever they appear.
 */
export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.ASYNC_EVENTS_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    // pino's own message ("default level:x must be included in custom levels") names neither the setting nor the choices.
    throw new AsyncEventsError('SETTING_INVALID', `ASYNC_EVENTS_LOG_LEVEL=${JSON.stringify(level)} is invalid: expected one of ${LOG_LEVELS.join(', ')}`, { variable: 'ASYNC_EVENTS_LOG_LEVEL', value: level });
  }
  return pino({
    level,
    redact: {
      paths: ['verificationToken', '*.verificationToken', 'verification_token', '*.verification_token', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
    ...(options.pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } } : {}),
  });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
