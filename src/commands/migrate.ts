import { createAppParts } from '../app.ts';
import { fail, oneShotLogger, settingsFrom, type Flags } from './common.ts';

export async function migrate(flags: Flags): Promise<void> {
  try {
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger() });
    try {
      const report = await (await parts.store()).migrate();
      for (const t of report.created) console.log(`created ${t}`);
      for (const t of report.altered) console.log(`altered ${t}`);
      for (const t of report.unchanged) console.log(`unchanged ${t}`);
    } finally {
      await parts.close();
    }
  } catch (error) {
    fail(error);
  }
}
