import { Command } from 'commander';

/** Entry point of the `async-events` command; each subcommand lives beside the stage it drives. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('async-events').description('Reliable asynchronous event delivery for Magento 2');
  await program.parseAsync(argv);
}
