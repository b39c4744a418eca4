import { defineConfig } from 'vitest/config';

// Suites that stop and start the shared RabbitMQ and MariaDB servers: run alone, one file at a time, after the
// main suites (a restart would break whatever else is talking to the server).
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
