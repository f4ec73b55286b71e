import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollAnswerSchema } from '../../lib/domain/agent-wire.js';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';
import { agentPrincipal } from '../support/scripted-agent.js';

const api = useApi();
const Bucket = 'fleetline-test-artifacts';
let validETag = '';

/** Every item in the table, as a sorted list of keys: what a rejected request must leave unchanged. */
async function tableKeys(): Promise<string[]> {
  const items = (await api.table.doc.send(new ScanCommand({ TableName: api.table.tableName, ConsistentRead: true }))).Items ?? [];
  return items.map((i) => `${i.PK}|${i.SK}`).sort();
}

const post = (key: string, extra: Record<string, unknown> = {}) =>
  api.call('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: Bucket, key, ...extra } } });

beforeAll(async () => {
  await api.call('PUT', '/applications/shop', { body: { revisionSources: [{ bucket: Bucket, prefix: 'check/' }] } });
  await api.call('PUT', '/applications/shop/groups/prod', { body: { targets: { onPremisesTagSet: [[{ key: 'shop', type: 'KEY_ONLY' }]] } } });
  await api.call('PUT', '/instances/shop-1', { body: { tags: [{ key: 'shop', value: '' }] } });
  validETag = await putBundle(api.s3, Bucket, 'check/valid.zip');
  await putBundle(api.s3, Bucket, 'check/invalid.tgz', [
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\npermissions:\n  - object: /srv/app\n    acls: ["x:bob:rw"]\n  - object: /srv/app\n    mode: 0755\nhooks:\n  AfterInstall:\n    - timeout: 5\n' },
  ]);
  await putBundle(api.s3, Bucket, 'check/broken-yaml.zip', [{ path: 'appspec.yml', content: 'version: 0.0\nos: [linux\n' }]);
  await putBundle(api.s3, Bucket, 'check/no-appspec.zip', [{ path: 'deep/er/appspec.yml', content: 'version: 0.0\nos: linux\n' }]);
  await api.call('PUT', '/applications/shop/groups/staging', { body: { targets: { onPremisesTagSet: [[{ key: 'shop', type: 'KEY_ONLY' }]] } } });
  await putBundle(api.s3, Bucket, 'check/warned.zip', [
    { path: 'appspec.yaml', content: 'version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /srv/site\n    overwrite: yes\nHooks:\n  AfterInstall:\n    - location: go.sh\n' },
    { path: 'site/index.html', content: 'hi' },
    { path: 'go.sh', content: 'true' },
  ]);
  await putBundle(api.s3, Bucket, 'check/long-hook.zip', [
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: a.sh\n      timeout: 3000\n    - location: b.sh\n      timeout: "900"\n' },
  ]);
  await putBundle(api.s3, Bucket, 'check/matched-twice.zip', [
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nfiles:\n  - source: bin\n    destination: /opt/app\npermissions:\n  - object: /opt/app\n    pattern: "*.sh"\n    mode: 755\n  - object: /opt/app\n    pattern: "run*"\n    mode: 700\n' },
    { path: 'bin/run.sh', content: 'true' },
    { path: 'bin/stop.sh', content: 'true' },
  ]);
});

describe('POST /deployments checks the revision before anything is written', () => {
  it('answers 422 for an object that does not exist, and writes nothing', async () => {
    const before = await tableKeys();
    const res = await post('check/missing.zip');
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: '$.revision', message: `s3://${Bucket}/check/missing.zip does not exist` }]);
    expect(await tableKeys()).toEqual(before);
  });

  it('answers 422 naming every appspec.yml problem with its path and line, and writes nothing', async () => {
    const before = await tableKeys();
    const res = await post('check/invalid.tgz');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('UnprocessableError');
    expect(res.body.error.details).toEqual([
      expect.objectContaining({ path: 'appspec.yml $.permissions[0].acls[0]', line: 5, message: expect.stringMatching(/unknown scope "x"/) }),
      expect.objectContaining({ path: 'appspec.yml $.permissions[1].mode', line: 7, message: expect.stringMatching(/octal number, 493.*quote it/) }),
      expect.objectContaining({ path: 'appspec.yml $.hooks.AfterInstall[0].location', message: expect.stringMatching(/^is required/) }),
    ]);
    expect(await tableKeys()).toEqual(before);
  });

  it('answers 422 for broken YAML with its line, and for a bundle without appspec.yml', async () => {
    const broken = await post('check/broken-yaml.zip');
    expect(broken.status).toBe(422);
    expect(broken.body.error.details[0]).toMatchObject({ path: 'appspec.yml $', line: expect.any(Number), column: expect.any(Number) });
    const none = await post('check/no-appspec.zip');
    expect(none.status).toBe(422);
    expect(none.body.error.details).toEqual([{ path: '$.revision', message: expect.stringMatching(/no appspec.yml \(nor appspec.yaml\) at its root/) }]);
  });

  it('answers 422 when the given ETag is not the object\'s, and writes nothing', async () => {
    const before = await tableKeys();
    const res = await post('check/valid.zip', { eTag: '"0123456789abcdef0123456789abcdef"' });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: '$.revision.eTag', message: expect.stringMatching(/is "0123456789abcdef0123456789abcdef" but the object's ETag is/) }]);
    expect(await tableKeys()).toEqual(before);
  });

  it('checks the group before the revision: an unknown group is a 404', async () => {
    const res = await api.call('POST', '/deployments', { body: { application: 'shop', group: 'nope', revision: { bucket: Bucket, key: 'check/missing.zip' } } });
    expect(res.status).toBe(404);
  });

  it('creates a deployment of a valid revision, pinned to the object it checked (ETag and size)', async () => {
    const res = await post('check/valid.zip', { eTag: validETag.replaceAll('"', '') });
    expect(res.status).toBe(201);
    const deployment = (await api.call('GET', `/deployments/${res.body.deploymentId}`)).body;
    expect(deployment.revision).toMatchObject({ key: 'check/valid.zip', eTag: validETag, size: expect.any(Number) });
    expect(deployment.revision.size).toBeGreaterThan(0);

    // The agent is told exactly what was checked, in the shape the wire contract gives it.
    const polled = await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'shop-1' }, principal: agentPrincipal('shop-1') });
    const answer = pollAnswerSchema.parse(polled.body);
    expect(answer.assignment?.bundle).toMatchObject({ eTag: validETag, size: deployment.revision.size, bundleType: 'zip' });
  });

  it('records what CodeDeploy would skip as warnings with their lines on the deployment, and reads appspec.yaml', async () => {
    const res = await api.call('POST', '/deployments', { body: { application: 'shop', group: 'staging', revision: { bucket: Bucket, key: 'check/warned.zip' } } });
    expect(res.status).toBe(201);
    const deployment = (await api.call('GET', `/deployments/${res.body.deploymentId}`)).body;
    expect(deployment.warnings).toEqual([
      expect.objectContaining({ path: 'appspec.yaml $.Hooks', line: 7, message: expect.stringMatching(/rename it to hooks/) }),
      expect.objectContaining({ path: 'appspec.yaml $.files[0].overwrite', line: 6, message: expect.stringMatching(/file_exists_behavior/) }),
    ]);
  });

  it('answers 422 for an event whose scripts may run longer than CodeDeploy allows, naming the event, scripts and line', async () => {
    const before = await tableKeys();
    const res = await post('check/long-hook.zip');
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      expect.objectContaining({ path: 'appspec.yml $.hooks.ApplicationStart', line: 5, message: expect.stringMatching(/3900 s together \(a\.sh \(3000 s\) \+ b\.sh \(900 s\)\), more than the 3600 s/) }),
    ]);
    expect(await tableKeys()).toEqual(before);
  });

  it('answers 422 when one installed file is matched by two permission entries (the zip shows its files)', async () => {
    const res = await post('check/matched-twice.zip');
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      expect.objectContaining({ path: 'appspec.yml $.permissions[1]', message: expect.stringMatching(/\/opt\/app\/run\.sh, which \$\.permissions\[0\] sets too/) }),
    ]);
  });
});
