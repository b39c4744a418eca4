#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so the repository needs no build step:
// `npm ci` is all a fresh clone needs before `npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main(process.argv);
