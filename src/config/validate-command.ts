import { isAsyncEventsError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { formatConfigError } from './config-error.ts';
import { readMagentoInstall, type MagentoInstall } from './magento-root.ts';
import { loadEventRegistry } from './registry.ts';

export interface CommandOutput {
  log(line: string): void;
  error(line: string): void;
}

/**
 * `async-events validate`: every error of every enabled module's etc/async_events.xml as `path:line:col message`
 * (path relative to the Magento root); when all are valid, one summary line per module.
 * Exit code 0 valid, 1 invalid, 2 when the root cannot be used at all.
 */
export async function runValidate(root: string, out: CommandOutput): Promise<0 | 1 | 2> {
  let install: MagentoInstall;
  try {
    install = await readMagentoInstall(root);
  } catch (thrown) {
    if (isAsyncEventsError(thrown)) {
      out.error(thrown.message);
      return 2;
    }
    throw thrown;
  }

  const { registry, files, errors, missing } = await loadEventRegistry(install, silentLogger());
  if (errors.length > 0) {
    for (const error of errors) out.error(formatConfigError(error));
    const broken = new Set(errors.map((error) => error.file)).size;
    out.error(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${broken} file${broken === 1 ? '' : 's'}`);
    return 1;
  }

  if (missing.length > 0) out.log(`note: ${missing.length} enabled module(s) not found under app/code or vendor: ${missing.join(', ')}`);
  if (files.length === 0) {
    out.log('No enabled module has an etc/async_events.xml.');
    return 0;
  }
  for (const { file, module, events } of files) {
    const names = events.length > 0 ? ` (${events.join(', ')})` : '';
    out.log(`${module}: ${events.length} event${events.length === 1 ? '' : 's'}${names} in ${file}`);
  }
  out.log(`Valid: ${registry.size} event${registry.size === 1 ? '' : 's'} from ${files.length} file${files.length === 1 ? '' : 's'}.`);
  return 0;
}
