import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// The layer rules (lint/layers.js) judged on code that is not in the repository: each
// violation named in design §2 fails `npm run lint`, and the imports each layer may make pass.
let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: process.cwd() });
});

async function layerErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const used = x;\n`, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('when code crosses a layer, lint fails naming the rule', () => {
  it.each([
    ['the domain imports an adapter', 'lib/domain/violation.ts', "import { x } from '../adapters/dynamodb/keys.js';", 'lib/domain imports only lib/domain'],
    ['the domain imports a use case', 'lib/domain/violation.ts', "import { x } from '../deployments/engine-deps.js';", 'lib/domain imports only lib/domain'],
    ['the domain imports the AWS SDK', 'lib/domain/violation.ts', "import { x } from '@aws-sdk/client-s3';", 'only lib/adapters'],
    ['the domain reads files', 'lib/domain/violation.ts', "import { x } from 'node:fs';", 'lib/domain does no I/O'],
    ['a use case imports an adapter', 'lib/deployments/violation.ts', "import { x } from '../adapters/aws/ec2-targets.js';", 'use cases depend on ports'],
    ['a use case imports the SDK', 'lib/pipelines/violation.ts', "import { x } from '@aws-sdk/client-dynamodb';", 'only lib/adapters'],
    ['the worker imports the API', 'lib/worker/violation.ts', "import { x } from '../api/deps.js';", 'the HTTP API is an entry layer'],
    ['the worker imports the wiring', 'lib/worker/violation.ts', "import { x } from '../wiring/build-deps.js';", 'only entry points import the wiring'],
    ['lib imports the local stack', 'lib/deployments/violation.ts', "import { x } from '../../local/ports.js';", 'lib/ never depends on the local stack'],
    ['lib imports a bench', 'lib/adapters/aws/violation.ts', "import { x } from '../../../bench/figure.js';", 'lib/ never depends on the local stack'],
    ['the agent imports an adapter', 'agent/violation.ts', "import { x } from '../lib/adapters/dynamodb/keys.js';", 'the agent shares only lib/domain'],
    ['the console imports a use case', 'console/src/violation.ts', "import { x } from '../../lib/deployments/queue.js';", 'the console shares only lib/domain'],
    ['the console takes a schema (not a type) from the API contract', 'console/src/violation.ts', "import { x } from '../../lib/api/operations.js';", 'the console takes only types'],
    ['the console imports Node', 'console/src/violation.ts', "import { x } from 'node:fs';", 'the console runs in a browser'],
  ])('%s', async (_what, filePath, source, message) => {
    const errors = await layerErrors(filePath, source);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });
});

describe('the imports each layer may make pass', () => {
  it.each([
    ['the domain imports the domain', 'lib/domain/allowed.ts', "import { x } from './names.js';"],
    ['the domain imports a library', 'lib/domain/allowed.ts', "import { x } from 'zod';"],
    ['a use case imports the domain and the ports', 'lib/deployments/allowed.ts', "import { x } from '../domain/names.js';\nimport { y } from '../ports.js';"],
    ['the wiring imports adapters', 'lib/wiring/allowed.ts', "import { x } from '../adapters/aws/clients.js';"],
    ['an entry point imports the wiring', 'functions/allowed.ts', "import { x } from '../lib/wiring/build-deps.js';"],
    ['the agent imports the shared domain', 'agent/allowed.ts', "import { x } from '../lib/domain/appspec.js';"],
    ['the console imports the domain and the contract\'s types', 'console/src/allowed.ts', "import { x } from '../../lib/domain/failure-cause.js';\nimport type { y } from '../../lib/api/operation-types.js';"],
  ])('%s', async (_what, filePath, source) => {
    expect(await layerErrors(filePath, source)).toEqual([]);
  });
});
