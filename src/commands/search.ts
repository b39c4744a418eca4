import { createAppParts } from '../app.ts';
import { searchCsv } from '../api/csv.ts';
import { isAsyncEventsError } from '../errors.ts';
import { fail, oneShotLogger, settingsFrom, type Flags } from './common.ts';

/** `search`: reads the delivery log only; it never creates a database (a missing SQLite file is an error). */
export async function search(query: string, flags: Flags & { csv?: boolean; limit: string }): Promise<void> {
  try {
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), mustExist: true });
    try {
      const { engine } = await parts.search();
      if (flags.csv) {
        for await (const chunk of searchCsv((q, page) => engine.search(q, page), query)) process.stdout.write(chunk);
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
