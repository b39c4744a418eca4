#!/usr/bin/env node
// The CLI from the TypeScript sources through tsx, for development and the tests (`npm run dev -- <command>`):
// it runs the code as it is in the tree, without a build. Users run bin/async-events.js, the compiled build.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin.ts');
