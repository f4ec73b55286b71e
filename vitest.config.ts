import { defineConfig } from 'vitest/config';

// Node 20 is supported (engines); the SDK's notice about its future minimum would fill every test's output.
// Set here so the global setup and every process a test spawns inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    // TEST_LOG_LEVEL=ERROR shows the logs of a failing run.
    env: {
      POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
      AWS_REGION: 'us-east-1',
    },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // `vitest run --project unit` and `--project fakes` (the engine lab on the in-memory fakes)
    // need neither Java nor a server; the others share one DynamoDB Local and one s3rver
    // started by the global setup.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'fakes', include: ['test/fakes/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/support/global-setup.ts'] },
      },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/support/global-setup.ts'] } },
    ],
  },
});
