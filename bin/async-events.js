#!/usr/bin/env node
// The compiled CLI (dist/, built by `npm run build`, which `npm ci` runs as the `prepare` script).
try {
  await import('../dist/src/bin.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/src/bin.js')) throw error;
  console.error('async-events: the compiled build is missing (dist/): run `npm run build` (npm ci and npm install run it)');
  process.exit(1);
}
