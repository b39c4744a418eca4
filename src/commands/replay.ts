import { createAppParts } from '../app.ts';
import { replayChain } from '../delivery/replay.ts';
import { coerceError } from '../errors.ts';
import { searchMatches } from '../search/matches.ts';
import { fail, oneShotLogger, settingsFrom, usage, type Flags } from './common.ts';

/**
 * `replay`: a new chain under the same UUID, attempted at once. Each line says how that attempt went; the exit code
 * is 1 when any chain was not replayed or its attempt failed (a retry may still be scheduled: the line says so).
 */
export async function replay(uuid: string | undefined, flags: Flags & { query?: string }): Promise<void> {
  if (!uuid && !flags.query) usage('give a UUID or --query');
  try {
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), mustExist: true });
    try {
      const uuids = new Set<string>(uuid ? [uuid] : []);
      if (flags.query !== undefined) {
        const { engine } = await parts.search();
        for await (const hits of searchMatches((q, page) => engine.search(q, page), flags.query)) for (const hit of hits) uuids.add(hit.uuid);
      }
      const attempts = uuids.size > 0 ? await parts.attempts() : undefined;
      let delivered = 0;
      let failed = 0;
      for (const id of uuids) {
        try {
          const report = await replayChain(attempts ?? (await parts.attempts()), id);
          const { outcome } = report;
          // What the recipient answered, so the line alone says how the attempt went.
          const answer = `${outcome.statusCode !== undefined ? `HTTP ${outcome.statusCode} from ` : ''}${report.subscription.recipientUrl}`;
          if (outcome.success) {
            delivered++;
            console.log(`${id} delivered (${answer}, log_id ${report.logId})`);
          } else {
            failed++;
            const next = report.chainStatus === 'retrying' ? `, retry in ${report.retryInSeconds ?? '?'} s` : '';
            const disabled = outcome.disableSubscription ? `, subscription ${report.subscription.id} disabled` : '';
            console.error(`${id} failed (${answer}, ${report.chainStatus}${next}${disabled}, log_id ${report.logId}): ${outcome.responseData.slice(0, 200)}`);
          }
        } catch (error) {
          failed++;
          console.error(`${id} not replayed: ${coerceError(error).message}`);
        }
      }
      console.log(`${uuids.size} replayed: ${delivered} delivered, ${failed} failed`);
      if (failed > 0) process.exitCode = 1;
    } finally {
      await parts.close();
    }
  } catch (error) {
    fail(error);
  }
}
