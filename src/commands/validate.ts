import { runValidate } from '../config/validate-command.ts';
import { fail, settingsFrom, type Flags } from './common.ts';

export async function validate(flags: Flags): Promise<void> {
  const settings = await settingsFrom(flags).catch(fail);
  const code = await runValidate(settings.magentoRoot, { log: (l) => console.log(l), error: (l) => console.error(l) });
  process.exit(code);
}
