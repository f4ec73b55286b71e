import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../agent/build.js';
import { installCommand, systemdUnit, userDataScript } from '../../cli/agent-install.js';
import { UsageError } from '../../cli/api.js';
import { AGENT_VERSION } from '../../lib/domain/agent-presence.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'fleetline-user-data-'));
let agentFile = '';
let server: Server;
let api = '';
const polls: Record<string, unknown>[] = [];

/** Stand-ins for the host's tools: `aws s3 cp` copies the built agent, `systemctl` notes what it was asked. */
function stubs(name: string, extra: Record<string, string> = {}): { bin: string; calls: string } {
  const bin = join(dir, name, 'bin');
  const calls = join(dir, name, 'systemctl.log');
  mkdirSync(bin, { recursive: true });
  const scripts = {
    aws: `#!/bin/sh\n[ "$1 $2" = "s3 cp" ] || exit 3\ncp "${agentFile}" "$4"\n`,
    systemctl: `#!/bin/sh\necho "$*" >> "${calls}"\n`,
    ...extra,
  };
  for (const [tool, text] of Object.entries(scripts)) {
    writeFileSync(join(bin, tool), text);
    chmodSync(join(bin, tool), 0o755);
  }
  return { bin, calls };
}

beforeAll(async () => {
  agentFile = await buildAgent(join(dir, 'built-agent.mjs'));
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url === '/agent/v1/poll') polls.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ assignment: null, pollAfterSeconds: 10 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  api = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('fleetline agent user-data', () => {
  it('installs the agent and its unit under a root, starts it, and leaves an agent that polls the API', async () => {
    const root = join(dir, 'root');
    const { bin, calls } = stubs('host');
    const script = userDataScript({ api, bucket: 'fleetline-prod-artifacts', instanceId: 'onprem-1', tags: ['env=prod'] });
    const { stdout } = await run('sh', ['-c', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FLEETLINE_ROOT: root } });
    expect(stdout).toContain('agent installed and started');

    const installed = join(root, 'opt/fleetline/fleetline-agent.mjs');
    expect(readFileSync(installed)).toEqual(readFileSync(agentFile));
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    const unit = readFileSync(join(root, 'etc/systemd/system/fleetline-agent.service'), 'utf8');
    expect(unit).toBe(systemdUnit({ api, bucket: 'fleetline-prod-artifacts', instanceId: 'onprem-1', tags: ['env=prod'] }));
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^ProtectKernelModules=yes$/m);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['daemon-reload', 'enable fleetline-agent', 'restart fleetline-agent']);

    // What systemd would start, run once from the install root: the agent polls the API it was given.
    const execStart = /^ExecStart=\/usr\/bin\/env node (\S+) (.*)$/m.exec(unit)!;
    const args = execStart[2]!.split(' ').map((a) => (a === '/var/lib/fleetline-agent' ? join(root, 'state') : a));
    await run(process.execPath, [join(root, execStart[1]!), ...args, '--once', '--principal', 'arn:aws:iam::111122223333:user/onprem-1'], { timeout: 30_000 });
    expect(polls).toContainEqual({ instanceId: 'onprem-1', agentVersion: AGENT_VERSION });
  }, 120_000);

  it('stops, saying why, when Node.js is too old and cannot be installed, or the AWS CLI is missing', async () => {
    const oldNode = stubs('old-node', { node: '#!/bin/sh\necho 18\n' });
    const script = userDataScript({ api, bucket: 'fleetline-prod-artifacts', tags: [] });
    const env = { FLEETLINE_ROOT: join(dir, 'root-old') };
    const failed = await run('/bin/sh', ['-c', script], { env: { ...env, PATH: `${oldNode.bin}:/nonexistent` } }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('no Node.js 20 or later, and no dnf or apt-get to install it');

    const noAws = join(dir, 'no-aws');
    mkdirSync(noAws);
    writeFileSync(join(noAws, 'node'), `#!/bin/sh\nexec "${process.execPath}" "$@"\n`);
    chmodSync(join(noAws, 'node'), 0o755);
    const missing = await run('/bin/sh', ['-c', script], { env: { ...env, PATH: `${noAws}:/nonexistent` } }).catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the AWS CLI is needed to fetch the agent from s3://fleetline-prod-artifacts/fleetline-agent/fleetline-agent.mjs');
  });

  it('refuses any value that could break out of the script or the unit (quotes, $(), newlines, %, spaces)', () => {
    const hostile = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/^[A-Za-z0-9._~:/@+=,-]+$/.test(s));
    fc.assert(
      fc.property(hostile, fc.constantFrom('api', 'instanceId', 'tag'), (value, where) => {
        const options = {
          api: where === 'api' ? `https://api.example.com/${value}` : 'https://api.example.com',
          bucket: 'fleetline-prod-artifacts',
          instanceId: where === 'instanceId' ? value : undefined,
          tags: where === 'tag' ? [`env=${value}`] : [],
        };
        expect(() => userDataScript(options)).toThrow(UsageError);
        expect(() => installCommand(options)).toThrow(UsageError);
      }),
    );
    expect(() => userDataScript({ api: 'http://api.example.com', bucket: 'fleetline-prod-artifacts', tags: [] })).toThrow(/https/);
  });

  it('prints the same install as one command for a running host', async () => {
    const options = { api, bucket: 'fleetline-prod-artifacts', tags: [] };
    const command = installCommand(options);
    expect(command).toMatch(/^echo [A-Za-z0-9+/=]+ \| base64 -d \| sudo sh$/);
    const decoded = Buffer.from(command.split(' ')[1]!, 'base64').toString('utf8');
    expect(decoded).toBe(userDataScript(options));
  });
});
