import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../lib/api/handler.js';
import { type DevServer, LOCAL_ADMIN_ARN, startDevServer } from '../../local/dev-server.js';
import { useApi } from '../support/api-harness.js';
import { buildTestCli } from '../support/cli-process.js';

// The API runs in this process, so its STS client can be stubbed at the SDK boundary;
// the CLI runs as its own process against it, as a user's shell would.
const api = useApi();
const sts = mockClient(STSClient);
const ROLE = 'arn:aws:iam::111122223333:role/fleetline/deploy-tools';
const expiration = new Date(Date.now() + 3600_000);
let server: DevServer | undefined;
let cli: Awaited<ReturnType<typeof buildTestCli>> | undefined;
const dir = mkdtempSync(join(tmpdir(), 'fleetline-cli-creds-'));

beforeAll(async () => {
  await api.deps.accessRules.put({ id: 'local-tools', effect: 'Allow', principals: [LOCAL_ADMIN_ARN], actions: ['credentials:issue'], resources: [ROLE] });
  sts.on(AssumeRoleCommand).resolves({
    Credentials: { AccessKeyId: 'ASIAFROMCLI', SecretAccessKey: 'cli-secret', SessionToken: 'cli-token', Expiration: expiration },
    AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/deploy-tools/x', AssumedRoleId: 'AROA:x' },
  });
  server = await startDevServer(createApiHandler(api.deps), 0);
  cli = await buildTestCli();
}, 120_000);
afterAll(async () => {
  sts.restore();
  await server?.stop();
  cli?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('fleetline credentials', () => {
  it('--format credential-process is accepted by the AWS SDK as a credential_process', async () => {
    const config = join(dir, 'config');
    const command = `${process.execPath} ${cli!.file} --api ${server!.url} credentials --role ${ROLE} --duration 900 --format credential-process`;
    writeFileSync(config, `[profile fleetline-tools]\ncredential_process = ${command}\n`);
    const credentials = await fromProcess({ profile: 'fleetline-tools', configFilepath: config, filepath: join(dir, 'none') })();
    expect(credentials).toMatchObject({ accessKeyId: 'ASIAFROMCLI', secretAccessKey: 'cli-secret', sessionToken: 'cli-token' });
    expect(credentials.expiration?.toISOString()).toBe(expiration.toISOString());
    expect(sts.commandCalls(AssumeRoleCommand).at(-1)?.args[0].input).toMatchObject({ RoleArn: ROLE, DurationSeconds: 900 });
  }, 120_000);

  it('env and json formats; a role no rule grants exits 1 with the API answer and prints no secret', async () => {
    const env = await cli!.run(['--api', server!.url, 'credentials', '--role', ROLE]);
    expect(env.stdout).toContain('export AWS_ACCESS_KEY_ID=ASIAFROMCLI');
    const refused = await cli!.run(['--api', server!.url, 'credentials', '--role', 'arn:aws:iam::111122223333:role/fleetline/other']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^fleetline: 403 /);
    expect(refused.stdout).toBe('');
    const usage = await cli!.run(['--api', server!.url, 'credentials', '--role', ROLE, '--format', 'yaml']);
    expect(usage.code).toBe(2);
  }, 120_000);
});
