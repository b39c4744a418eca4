import path from 'node:path';
import { loadRoutes } from '../app.ts';
import { runGenerate } from '../bridge/generate-command.ts';
import { serviceKey } from '../bridge/routes.ts';
import { formatConfigError } from '../config/config-error.ts';
import { readMagentoInstall } from '../config/magento-root.ts';
import { loadEventRegistry } from '../config/registry.ts';
import { createLogger } from '../logger.ts';
import { fail, settingsFrom, type Flags } from './common.ts';

export async function generate(flags: Flags & { out: string; consoleUrl?: string }): Promise<void> {
  try {
    // Only the Magento root is read: generating touches no database or queue.
    const settings = await settingsFrom(flags);
    const install = await readMagentoInstall(settings.magentoRoot);
    const config = await loadEventRegistry(install, createLogger({ level: 'warn' }));
    if (config.errors.length > 0) {
      for (const error of config.errors) console.error(formatConfigError(error));
      console.error('fix the async_events.xml errors above (`async-events validate`), then generate again');
      process.exit(1);
    }
    const routes = await loadRoutes(config.modules, config.registry);
    const routed = new Set(routes.all().filter((r) => r.module !== 'MageOS_AsyncEvents').map((r) => serviceKey(r.serviceClass, r.serviceMethod)));
    await runGenerate(
      { events: config.registry, routedServices: routed, outDir: path.resolve(flags.out), ...(flags.consoleUrl ? { consoleUrl: flags.consoleUrl } : {}) },
      { log: (l) => console.log(l) },
    );
  } catch (error) {
    fail(error);
  }
}
