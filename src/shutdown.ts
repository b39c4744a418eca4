import type { Logger } from './logger.ts';

/**
 * Graceful shutdown on SIGTERM/SIGINT: the first signal stops taking work, lets in-flight work finish and closes
 * connections; a second signal while that runs exits at once (messages not acknowledged come back to the queue).
 */
export function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new work, finishing in-flight deliveries');
    shutdown().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
