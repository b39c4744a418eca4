import type { Logger } from './logger.ts';

/** Time beyond the shutdown deadline for aborted work to hand its messages back and connections to close. */
const CLOSE_GRACE_MS = 10_000;

/**
 * Graceful shutdown on SIGTERM/SIGINT: the first signal stops taking work, lets in-flight work finish until
 * `timeoutMs` (ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS), then aborts the rest so its messages go back to their queues,
 * closes connections and exits 0. Should closing itself hang past the grace period, or a second signal arrive,
 * the process exits at once: messages not acknowledged come back to the queue anyway.
 */
export function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>, timeoutMs?: number): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, 'shutting down: no new work, finishing in-flight deliveries');
    if (timeoutMs !== undefined) {
      setTimeout(() => {
        logger.error({ timeoutMs, graceMs: CLOSE_GRACE_MS }, 'shutdown did not finish after its deadline and grace period: exiting now');
        process.exit(1);
      }, timeoutMs + CLOSE_GRACE_MS).unref();
    }
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
