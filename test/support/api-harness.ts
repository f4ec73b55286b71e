import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { buildApiDeps } from '../../lib/api/build-deps.js';
import type { ApiDeps } from '../../lib/api/deps.js';
import { createApiHandler } from '../../lib/api/handler.js';
import { apiClient } from './api-events.js';
import { type TestTable, createTestTable } from './dynamo.js';

/**
 * The API handler over a fresh DynamoDB Local table, for one test file.
 * `overrides` replaces dependencies (e.g. a repository that fails on purpose).
 */
export function useApi(overrides: (deps: ApiDeps) => Partial<ApiDeps> = () => ({})) {
  const state = {} as { table: TestTable; call: ReturnType<typeof apiClient>; deps: ApiDeps };
  beforeAll(async () => {
    state.table = await createTestTable();
    const deps = buildApiDeps(
      { tableName: state.table.tableName, artifactBucket: 'fleetline-test-artifacts', stage: 'test' },
      state.table.doc,
    );
    state.deps = { ...deps, newId: randomUUID, ...overrides(deps) };
    state.call = apiClient(createApiHandler(state.deps));
  });
  afterAll(async () => {
    await state.table?.drop();
  });
  return state;
}
