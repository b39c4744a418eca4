import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/chaos/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites that share RabbitMQ or MariaDB isolate themselves (own vhost, own database),
    // so files may run in parallel; two workers match the two cores of CI.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
