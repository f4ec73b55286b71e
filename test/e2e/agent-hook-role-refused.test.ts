import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { script, zipBundle } from '../support/bundles.js';
import { usePushStack } from '../support/push-stack.js';

// STS is mocked at the SDK boundary: the API runs in this process, the agent is a real process.
const sts = mockClient(STSClient);
process.env.CREDENTIAL_ACCOUNTS ??= '111122223333';
const HOOK_ROLE = 'arn:aws:iam::111122223333:role/fleetline/refused-hooks';
const { state, http, deploy, finished } = usePushStack({ agents: 1, pollSeconds: 1 });

describe('a hook role STS refuses, on a real agent', () => {
  it('fails that deployment on the host naming the role and STS answer, runs none of its hooks, and the host deploys another group meanwhile', async () => {
    sts.on(AssumeRoleCommand).rejects(
      Object.assign(new Error(`User: arn:aws:sts::999988887777:assumed-role/fleetline-api/x is not authorized to perform: sts:AssumeRole on resource: ${HOOK_ROLE}`), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const [instanceId] = state.instanceIds as [string];
    const host = join(state.dir, 'hosts', instanceId);
    expect((await http('PUT', '/applications/hooked')).status).toBeLessThan(300);
    const group = await http('PUT', '/applications/hooked/groups/roled', {
      targets: { onPremisesTagSet: [[{ key: 'fleet', value: state.instanceIds[0]?.replace(/-1$/, ''), type: 'KEY_AND_VALUE' }]] },
      hookRoleArn: HOOK_ROLE,
    });
    expect(group.status).toBe(201);
    const key = 'hooked/app.zip';
    await state.s3.send(
      new PutObjectCommand({
        Bucket: state.stack.bucket,
        Key: key,
        Body: await zipBundle([
          { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nfiles:\n  - source: hook.sh\n    destination: /opt/hooked\nhooks:\n  BeforeInstall:\n    - location: hook.sh\n' },
          { path: 'hook.sh', content: script('echo ran > "$0.ran"'), mode: 0o755 },
        ]),
      }),
    );
    const refused = await http('POST', '/deployments', { application: 'hooked', group: 'roled', revision: { bucket: state.stack.bucket, key } });
    expect(refused.status).toBe(201);
    const plain = await deploy([
      { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nfiles:\n  - source: index.html\n    destination: /srv/plain\n' },
      { path: 'index.html', content: 'plain' },
    ]);

    const [failed, succeeded] = await Promise.all([finished(refused.body.deploymentId), finished(plain)]);
    expect(failed.status).toBe('Failed');
    expect(succeeded.status).toBe('Succeeded');
    const detail = await http('GET', `/deployments/${refused.body.deploymentId}/instances/${instanceId}`);
    const event = detail.body.events.find((e: { status: string }) => e.status === 'Failed');
    expect(event.message).toContain(HOOK_ROLE);
    expect(event.message).toContain('STS answered AccessDenied');
    // Nothing of the refused deployment reached the host; the other group's file did.
    expect(existsSync(join(host, 'opt/hooked'))).toBe(false);
    expect(existsSync(join(host, 'srv/plain/index.html'))).toBe(true);
    expect(state.agents[0]?.child.exitCode).toBeNull();
    expect(sts.commandCalls(AssumeRoleCommand).length).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
