import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../lib/api/handler.js';
import { type DevServer, startDevServer } from '../../local/dev-server.js';
import { useApi } from '../support/api-harness.js';
import { startAgent } from '../support/agent-process.js';
import { type BundleFile, script, zipBundle } from '../support/bundles.js';
import { waitForDeploymentEnd } from '../support/deployment-end.js';

/**
 * Appspec keys that hand work to the host's own tools, on a real agent process (local
 * mode, as root): `sudo` on a hook runs `sudo <script>` (`sudo su <user> -c <script>`
 * with runas), as CodeDeploy's agent does (linux_util.rb prepare_script_command);
 * `permissions` with `acls` run the host's setfacl on the installed files only.
 */
const api = useApi();
const Bucket = 'fleetline-test-artifacts';
const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-hook-keys-'));
const destination = `/srv/fleetline-keys-${process.pid}`;
const isRoot = process.getuid?.() === 0;
const onHost = (tool: string) => {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const hasSudo = onHost('sudo');
const hasSetfacl = onHost('setfacl');
/** A user other than root whose shell runs scripts (su refuses a nologin shell). */
const loginUser = execFileSync('getent', ['passwd'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .map((line) => line.split(':'))
  .find((f) => f[2] !== '0' && /\/(ba|da)?sh$/.test(f[6] ?? ''));
let server: DevServer;
let agent: ReturnType<typeof startAgent> | undefined;

beforeAll(async () => {
  chmodSync(stateDir, 0o755); // a runas user must reach the host folder
  server = await startDevServer(createApiHandler(api.deps), 0);
  await api.call('PUT', '/applications/keys', { body: { revisionSources: [{ bucket: Bucket, prefix: 'keys/' }] } });
  const group = await api.call('PUT', '/applications/keys/groups/host', {
    body: { targets: { onPremisesTagSet: [[{ key: 'keys', value: 'host', type: 'KEY_AND_VALUE' }]] }, fileExistsBehavior: 'OVERWRITE' },
  });
  expect(group.status).toBe(201);
  await api.call('PUT', '/instances/keys-1', { body: { tags: [{ key: 'keys', value: 'host' }] } });
  agent = startAgent({ apiUrl: server.url, instanceId: 'keys-1', stateDir, tags: '' });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

const installed = (path: string) => join(stateDir, 'hosts', 'keys-1', destination, path);

async function deploy(name: string, files: BundleFile[]) {
  const Key = `keys/${name}-${Date.now()}.zip`;
  await api.s3.send(new PutObjectCommand({ Bucket, Key, Body: await zipBundle(files) }));
  const res = await api.call('POST', '/deployments', { body: { application: 'keys', group: 'host', revision: { bucket: Bucket, key: Key } } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const id = res.body.deploymentId as string;
  const end = await waitForDeploymentEnd(id, async () => (await api.call('GET', `/deployments/${id}`)).body, { timeoutMs: 90_000 });
  const detail = (await api.call('GET', `/deployments/${id}/instances/keys-1`)).body;
  return { status: end.status as string, events: detail.events as { name: string; status: string; message?: string; errorCode?: string }[] };
}

/** The script writes who ran it and through what into the destination (where a runas user may write). */
const whoami = (file: string) => script(`echo "uid=$(id -u) sudo_user=\${SUDO_USER-unset} sudo_command=\${SUDO_COMMAND-unset}" > ${destination}/${file}`);

describe('the sudo key on a real agent', () => {
  it.skipIf(!isRoot || !hasSudo)('runs the script through the host\'s sudo, and with runas as sudo su <user> -c <script>', async () => {
    const user = loginUser;
    const hooks = [
      '  AfterInstall:\n    - location: scripts/as-root.sh\n      sudo: true\n      timeout: 60\n',
      user ? `    - location: scripts/as-user.sh\n      runas: ${user[0]}\n      sudo: true\n      timeout: 60\n` : '',
      '    - location: scripts/plain.sh\n      timeout: 60\n',
    ].join('');
    const result = await deploy('sudo', [
      { path: 'appspec.yml', content: `version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: ${destination}\nhooks:\n${hooks}` },
      { path: 'site/index.html', content: 'hi' },
      { path: 'scripts/as-root.sh', mode: 0o755, content: `${whoami('as-root.txt')}\nchmod 777 ${destination}` },
      { path: 'scripts/as-user.sh', mode: 0o755, content: whoami('as-user.txt') },
      { path: 'scripts/plain.sh', mode: 0o755, content: whoami('plain.txt') },
    ]);
    expect(result.status, JSON.stringify(result.events)).toBe('Succeeded');
    // sudo ran the script itself (SUDO_COMMAND names it), as root.
    expect(readFileSync(installed('as-root.txt'), 'utf8')).toMatch(/^uid=0 sudo_user=root sudo_command=\/\S+\/scripts\/as-root\.sh\n$/);
    // Without the key, no sudo.
    expect(readFileSync(installed('plain.txt'), 'utf8')).toBe('uid=0 sudo_user=unset sudo_command=unset\n');
    if (user) {
      // sudo ran su (SUDO_COMMAND is su's command line), which ran the script as the user (its path quoted for the shell).
      expect(readFileSync(installed('as-user.txt'), 'utf8')).toMatch(new RegExp(`^uid=${user[2]} sudo_user=root sudo_command=\\S*su ${user[0]} -c '?\\S+/scripts/as-user\\.sh'?\\n$`));
    }
  }, 120_000);

  it.skipIf(!isRoot || hasSudo)('fails the hook naming sudo when the host has none', async () => {
    const result = await deploy('no-sudo', [
      { path: 'appspec.yml', content: `version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: ${destination}\nhooks:\n  AfterInstall:\n    - location: a.sh\n      sudo: true\n` },
      { path: 'site/index.html', content: 'hi' },
      { path: 'a.sh', mode: 0o755, content: whoami('no-sudo.txt') },
    ]);
    expect(result.status).toBe('Failed');
    expect(result.events.find((e) => e.name === 'AfterInstall')).toMatchObject({ status: 'Failed', errorCode: 'ScriptFailed', message: expect.stringContaining('sudo is not installed on this host') });
    expect(existsSync(installed('no-sudo.txt'))).toBe(false);
  }, 120_000);
});

describe('acls on a real agent', () => {
  it.skipIf(!isRoot || !hasSetfacl)('sets the ACL on the files the deployment installed and leaves a file already beside them alone', async () => {
    const user = loginUser?.[0] ?? 'root';
    mkdirSync(installed(''), { recursive: true });
    writeFileSync(installed('already-here.txt'), 'not ours');
    const acl = (path: string) => execFileSync('getfacl', ['--omit-header', '--absolute-names', '--no-effective', path], { encoding: 'utf8' });
    const before = acl(installed('already-here.txt'));
    const result = await deploy('acls', [
      {
        path: 'appspec.yml',
        content: `version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: ${destination}\npermissions:\n  - object: ${destination}\n    pattern: "*.txt"\n    type: [file]\n    mode: "640"\n    acls:\n      - u:${user}:rw\n`,
      },
      { path: 'site/page.txt', content: 'page' },
    ]);
    expect(result.status, JSON.stringify(result.events)).toBe('Succeeded');
    expect(acl(installed('page.txt'))).toContain(`user:${user}:rw-`);
    expect(acl(installed('already-here.txt'))).toBe(before);
  }, 120_000);
});
