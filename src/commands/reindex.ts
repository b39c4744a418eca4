import { createAppParts } from '../app.ts';
import { fail, oneShotLogger, settingsFrom, type Flags } from './common.ts';

export async function reindex(flags: Flags): Promise<void> {
  try {
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), mustExist: true });
    try {
      const { elasticsearch } = await parts.search();
      if (!elasticsearch?.reindex) {
        console.log('built-in search reads the log directly: there is no index to rebuild (set ASYNC_EVENTS_ELASTICSEARCH to use Elasticsearch)');
        return;
      }
      const total = await (await parts.store()).log.count();
      const started = Date.now();
      const bar = (done: number) => {
        const filled = total === 0 ? 30 : Math.min(30, Math.round((done / total) * 30));
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${done}/${total} log rows`);
      };
      bar(0);
      const report = await elasticsearch.reindex(bar);
      process.stderr.write('\n');
      console.log(`reindexed ${report.indexed} log rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await parts.close();
    }
  } catch (error) {
    fail(error);
  }
}
