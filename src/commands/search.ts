import { createAppParts } from '../app.ts';
import { searchHitCsvRow } from '../api/csv.ts';
import { isAsyncEventsError } from '../errors.ts';
import { fail, oneShotLogger, settingsFrom, type Flags } from './common.ts';

/** `search`: reads the delivery log only; it never creates a database (a missing SQLite file is an error). */
export async function search(query: string, flags: Flags & { csv?: boolean; limit: string }): Promise<void> {
  try {
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), mustExist: true });
    try {
      const { engine } = await parts.search();
      if (flags.csv) {
        process.stdout.write('log_id,uuid,event_name,success,created,subscription_id,recipient_url,response_data\r\n');
        for (let from = 0; ; from += 500) {
          const page = await engine.search(query, { size: 500, from });
          for (const hit of page.hits) process.stdout.write(searchHitCsvRow(hit));
          if (page.hits.length < 500) break;
        }
        return;
      }
      const page = await engine.search(query, { size: Math.min(1000, Math.max(1, Number(flags.limit))), from: 0 });
      for (const hit of page.hits) {
        console.log(`${hit.logId}\t${hit.created.toISOString()}\t${hit.success ? 'success' : 'failed '}\t${hit.uuid}\t${hit.eventName}\t${hit.recipientUrl}`);
      }
      console.log(`${page.hits.length} of ${page.total} match(es)`);
    } finally {
      await parts.close();
    }
  } catch (error) {
    if (isAsyncEventsError(error, 'QUERY_SYNTAX')) {
      const position = Number(error.details.position ?? 0);
      console.error(`${query}\n${' '.repeat(Math.max(0, position - 1))}^\nerror: ${error.message}`);
      process.exit(1);
    }
    fail(error);
  }
}
