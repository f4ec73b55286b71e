// The layer rules of design §2, as ESLint import restrictions. Each folder gets one rule
// entry (flat config replaces a rule's options per file, it does not merge them).
const sdk = { group: ['@aws-sdk/*', '@smithy/*'], message: 'only lib/adapters (and the wiring) talk to AWS' };
const runtime = { group: ['@middy/*', '@aws-lambda-powertools/*'], message: 'lib/domain knows nothing of Lambda' };
const outsideLib = { group: ['**/local/**', '**/bench/**', '**/test/**', '**/cli/**', '**/agent/**', '**/functions/**'], message: 'lib/ never depends on the local stack, benches, tests, the CLI, the agent or the entry points' };
const adapters = { group: ['**/adapters/**'], message: 'use cases depend on ports (lib/ports.ts); the wiring (lib/wiring) picks the adapters' };
const wiring = { group: ['**/wiring/**'], message: 'only entry points import the wiring' };
const api = { group: ['**/api/**'], message: 'the HTTP API is an entry layer: nothing below it imports it' };

const restrict = (...patterns) => ['error', { patterns }];

/** @type {import('eslint').Linter.Config[]} */
export const layerRules = [
  {
    name: 'layers/domain: pure rules and types, importing only the domain',
    files: ['lib/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        // lib/errors.ts is the one shared kernel outside the folder: error classes, no I/O.
        { group: ['../*', '!../errors.js'], message: 'lib/domain imports only lib/domain' },
        { group: ['node:fs', 'node:fs/*', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:os', 'ws'], message: 'lib/domain does no I/O' },
        sdk,
        runtime,
      ),
    },
  },
  {
    name: 'layers/use cases: orchestration over ports',
    files: ['lib/{access,artifacts,channel,credentials,deployments,pipelines,revisions}/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(sdk, adapters, wiring, api, outsideLib) },
  },
  {
    name: 'layers/worker: the stream and schedule handlers, over ports',
    files: ['lib/worker/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(sdk, adapters, wiring, api, outsideLib) },
  },
  {
    name: 'layers/api: HTTP routes over use cases and ports',
    files: ['lib/api/**/*.ts', 'lib/http/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(sdk, adapters, wiring, outsideLib) },
  },
  {
    name: 'layers/adapters: AWS behind ports',
    files: ['lib/adapters/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(wiring, api, outsideLib) },
  },
  {
    name: 'layers/wiring and the rest of lib',
    files: ['lib/*.ts', 'lib/wiring/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(outsideLib) },
  },
  {
    name: 'layers/console: a browser page over the HTTP API, sharing the domain and the contract\'s types',
    files: ['console/src/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { group: ['**/lib/*', '!**/lib/domain', '!**/lib/api'], message: 'the console shares only lib/domain and the API contract\'s types with the server' },
        { group: ['**/lib/api/*', '!**/lib/api/console-operations.js', '!**/lib/api/client-error.js'], message: 'the console takes only types from the API contract (its schemas stay on the server); it shares with the CLI and its proxy only console-operations.js and client-error.js', allowTypeImports: true },
        { group: ['node:*', '@aws-sdk/*', '@smithy/*'], message: 'the console runs in a browser' },
      ),
    },
  },
  {
    name: 'layers/agent: its own code and the shared domain',
    files: ['agent/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { group: ['../lib/*', '!../lib/domain', '../../lib/*', '!../../lib/domain', '**/lib/adapters/**', '**/lib/api/**'], message: 'the agent shares only lib/domain with the server' },
      ),
    },
  },
];
