import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger. Every part receives a child of it (`logger.child({ stage: 'queue' })`) instead of importing
 * a global, so tests inject a silent one. Verification tokens and API tokens are redacted wherever they appear.
 */
export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  return pino({
    level: options.level ?? process.env.ASYNC_EVENTS_LOG_LEVEL ?? 'info',
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
