import { main } from './cli.ts';

// The process entry point, kept apart from src/cli.ts so that importing the command table runs nothing.
await main(process.argv);
