import { startLocalStack } from './stack.js';
import { displayPath, localStateDir } from './state-dir.js';

/** `npm start`: the whole of Fleetline on this machine, state kept under .fleetline/ (or FLEETLINE_STATE_DIR). */
const port = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a TCP port number`);
  return value;
};

const countOf = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 50) throw new Error(`${name} must be a whole number from 0 to 50`);
  return value;
};

// Node 20 is supported here (engines); the SDK's notice about its future minimum is noise in every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const stateDir = localStateDir();
  const stack = await startLocalStack({
    apiPort: port('PORT', 3000),
    s3Port: port('S3_PORT', 4569),
    dynamoDbPort: port('DYNAMODB_PORT', 8000),
    stateDir,
    persist: true,
    agents: countOf('FLEETLINE_LOCAL_AGENTS', 3),
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`
Fleetline is running locally (state in ${displayPath(stateDir)}, wipe it with npm run reset).
  Try:  npx fleetline apps put web --description "my first app"
        npx fleetline apps
  Stop with Ctrl-C.
`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Fleetline…`);
    stack.stop().then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(`Fleetline could not start: ${(error as Error).message}`);
  process.exit(1);
});
