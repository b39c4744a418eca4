import type { Logger } from '../logger.ts';
import { silentLogger } from '../logger.ts';
import type { EventRegistry } from '../types.ts';
import { generateBridge } from './generate.ts';
import type { WriteResult } from './write.ts';

export interface GenerateCommandInput {
  readonly events: EventRegistry;
  readonly routedServices: ReadonlySet<string>;
  readonly outDir: string;
  readonly consoleUrl?: string;
  readonly logger?: Logger;
}

/** `async-events generate --out DIR`: one line per file, `written <path>` or `unchanged <path>`. */
export async function runGenerate(input: GenerateCommandInput, out: { log(line: string): void }): Promise<WriteResult> {
  const result = await generateBridge({
    events: input.events,
    routedServices: input.routedServices,
    outDir: input.outDir,
    ...(input.consoleUrl === undefined ? {} : { consoleUrl: input.consoleUrl }),
    logger: input.logger ?? silentLogger(),
  });
  const lines = [
    ...result.written.map((file) => ({ file, line: `written ${file}` })),
    ...result.unchanged.map((file) => ({ file, line: `unchanged ${file}` })),
  ].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const { line } of lines) out.log(line);
  out.log(`${result.written.length} written, ${result.unchanged.length} unchanged in ${input.outDir}`);
  return result;
}
