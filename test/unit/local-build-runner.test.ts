import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extractBundle } from '../../agent/extract/index.js';
import { type LocalBuildRequest, type LocalBuildResult, runLocalBuild } from '../../local/build/runner.js';
import { type BundleFile, zipBundle } from '../support/bundles.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Run extends LocalBuildResult {
  log: string[];
  /** The output artifact's files and contents, when one was written. */
  output?: Record<string, string>;
}

async function build(files: BundleFile[], overrides: Partial<LocalBuildRequest> = {}): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'runner-test-'));
  dirs.push(dir);
  const sourceZip = join(dir, 'source.zip');
  writeFileSync(sourceZip, await zipBundle(files));
  const log: string[] = [];
  const outputZip = join(dir, 'output.zip');
  const result = await runLocalBuild({
    sourceZip,
    projectName: 'web',
    buildId: 'web:1111',
    buildNumber: 7,
    sourceVersion: 'v-abc',
    timeLimitMs: 20_000,
    outputZip,
    log: (line) => log.push(line),
    ...overrides,
  });
  let output: Record<string, string> | undefined;
  if (existsSync(outputZip)) {
    const out = join(dir, 'out');
    await extractBundle(outputZip, 'zip', out);
    output = {};
    for (const f of result.artifact?.files ?? []) output[f] = readFileSync(join(out, f), 'utf8');
  }
  return { ...result, log, output };
}

const spec = (text: string): BundleFile => ({ path: 'buildspec.yml', content: text });
const lines = (run: Run, prefix: string) => run.log.filter((l) => l.startsWith(prefix));

describe('the local buildspec runner', () => {
  it('runs the phases in CodeBuild\'s order, a phase\'s commands in one shell, carrying exports and the folder on', async () => {
    const run = await build([
      spec(`version: 0.2
env:
  variables:
    GREETING: hello
phases:
  build:
    commands:
      - echo "step build $GREETING $FROM_INSTALL"
      - mkdir -p out && cd out
      - echo "build in $(basename $(pwd))"
  install:
    commands:
      - echo step install
      - FROM_INSTALL=set-in-install
  pre_build:
    commands:
      - echo step pre_build
  post_build:
    commands:
      - echo "step post_build in $(basename $(pwd))"
`),
    ]);
    expect(run.status).toBe('SUCCEEDED');
    expect(lines(run, 'step')).toEqual(['step install', 'step pre_build', 'step build hello set-in-install', 'step post_build in out']);
    expect(run.log).toContain('build in out');
    expect(run.phases.map((p) => `${p.phase}:${p.status}`)).toEqual([
      'DOWNLOAD_SOURCE:SUCCEEDED', 'PROVISIONING:SUCCEEDED', 'INSTALL:SUCCEEDED', 'PRE_BUILD:SUCCEEDED', 'BUILD:SUCCEEDED', 'POST_BUILD:SUCCEEDED',
    ]);
  });

  it('gives the build CodeBuild\'s variables, the request\'s variables over the buildspec\'s, and none of the runner\'s own secrets', async () => {
    process.env.AWS_SECRET_ACCESS_KEY_TEST_LEAK = 'leak';
    const run = await build(
      [spec(`version: 0.2
env:
  variables:
    STAGE: from-buildspec
    KEEP: kept
phases:
  build:
    commands:
      - echo "vars $CODEBUILD_BUILD_ID $CODEBUILD_BUILD_NUMBER $CODEBUILD_RESOLVED_SOURCE_VERSION $CODEBUILD_BUILD_SUCCEEDING $STAGE $KEEP"
      - test "$CODEBUILD_SRC_DIR" = "$(pwd)" && test -f "$CODEBUILD_SRC_DIR/buildspec.yml" && echo src-ok
      - echo "leak=\${AWS_SECRET_ACCESS_KEY_TEST_LEAK:-none}"
`)],
      { environmentVariables: [{ name: 'STAGE', value: 'from-request' }] },
    );
    delete process.env.AWS_SECRET_ACCESS_KEY_TEST_LEAK;
    expect(run.log).toContain('vars web:1111 7 v-abc 1 from-request kept');
    expect(run.log).toContain('src-ok');
    expect(run.log).toContain('leak=none');
  });

  it('stops a phase at its first failing command, runs finally, and fails the build naming the command and exit code', async () => {
    const run = await build([spec(`version: 0.2
phases:
  pre_build:
    commands:
      - echo before
      - sh -c 'exit 3'
      - echo never
    finally:
      - echo "finally succeeding=$CODEBUILD_BUILD_SUCCEEDING"
  build:
    commands:
      - echo build-ran
artifacts:
  files: ['**/*']
`)]);
    expect(run.status).toBe('FAILED');
    expect(run.failedPhase).toBe('PRE_BUILD');
    expect(run.message).toBe("Error while executing command: sh -c 'exit 3'. Reason: exit status 3");
    expect(run.log).toContain('before');
    expect(run.log).toContain('finally succeeding=0');
    expect(run.log).not.toContain('never');
    // A failed PRE_BUILD ends the build: no BUILD, no POST_BUILD, no upload.
    expect(run.log).not.toContain('build-ran');
    expect(run.phases.map((p) => p.phase)).not.toContain('UPLOAD_ARTIFACTS');
    expect(run.output).toBeUndefined();
  });

  it('runs finally even when a command exits the phase\'s shell', async () => {
    const run = await build([spec(`version: 0.2
phases:
  build:
    commands:
      - exit 4
    finally:
      - echo cleanup
`)]);
    expect(run.status).toBe('FAILED');
    expect(run.log).toContain('cleanup');
    expect(run.message).toContain('exit status 4');
  });

  it('on-failure CONTINUE goes on to the next phase and the build still fails', async () => {
    const run = await build([spec(`version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands:
      - "false"
  build:
    commands:
      - echo "build succeeding=$CODEBUILD_BUILD_SUCCEEDING"
`)]);
    expect(run.log).toContain('build succeeding=0');
    expect(run.status).toBe('FAILED');
    expect(run.failedPhase).toBe('INSTALL');
  });

  it('still runs POST_BUILD and uploads the artifacts when BUILD fails, as CodeBuild does', async () => {
    const run = await build([spec(`version: 0.2
phases:
  build:
    commands:
      - mkdir -p out && echo partial > out/report.txt
      - "false"
  post_build:
    commands:
      - echo "post_build succeeding=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files: ['out/**']
`)]);
    expect(run.status).toBe('FAILED');
    expect(run.failedPhase).toBe('BUILD');
    expect(run.log).toContain('post_build succeeding=0');
    expect(run.phases.find((p) => p.phase === 'UPLOAD_ARTIFACTS')?.status).toBe('SUCCEEDED');
    expect(run.output).toEqual({ 'out/report.txt': 'partial\n' });
  });

  it('packs artifacts by glob below the base directory, excluding paths, with the action\'s name', async () => {
    const run = await build([
      spec(`version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist/lib && echo app > dist/app.js && echo map > dist/app.js.map && echo lib > dist/lib/x.js && echo spec > dist/appspec.yml
artifacts:
  base-directory: dist
  files:
    - '**/*'
  exclude-paths:
    - '**/*.map'
  name: web-build
`),
      { path: 'src/main.ts', content: 'source' },
    ]);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.artifact?.name).toBe('web-build');
    expect(run.output).toEqual({ 'app.js': 'app\n', 'appspec.yml': 'spec\n', 'lib/x.js': 'lib\n' });
  });

  it('discard-paths keeps names alone, and refuses two files that would share one', async () => {
    const ok = await build([spec('version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p a/b && echo 1 > a/b/one.txt\nartifacts:\n  files: [\'a/**/*\']\n  discard-paths: yes\n')]);
    expect(ok.output).toEqual({ 'one.txt': '1\n' });
    const clash = await build([spec('version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p a b && echo 1 > a/x && echo 2 > b/x\nartifacts:\n  files: [\'**/x\']\n  discard-paths: yes\n')]);
    expect(clash.status).toBe('FAILED');
    expect(clash.message).toBe('discard-paths: a/x and b/x would both be x in the artifact');
  });

  it('fails UPLOAD_ARTIFACTS naming the pattern and the base directory when no file matched', async () => {
    const run = await build([spec('version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p dist\nartifacts:\n  base-directory: dist\n  files:\n    - out/**\n')]);
    expect(run.status).toBe('FAILED');
    expect(run.failedPhase).toBe('UPLOAD_ARTIFACTS');
    expect(run.message).toBe('no files matched `out/**` in base-directory dist');
    const missingBase = await build([spec('version: 0.2\nphases:\n  build:\n    commands: ["true"]\nartifacts:\n  base-directory: build\n  files: ["**/*"]\n')]);
    expect(missingBase.message).toBe('no matching base directory path found: build is not a folder after the build');
  });

  it('exports the variables the buildspec names, as they are at the end of the build', async () => {
    const run = await build([spec(`version: 0.2
env:
  exported-variables: [IMAGE_TAG, UNSET_ONE]
phases:
  build:
    commands:
      - IMAGE_TAG=v-$CODEBUILD_BUILD_NUMBER
  post_build:
    commands:
      - IMAGE_TAG=$IMAGE_TAG-final
`)]);
    expect(run.exportedVariables).toEqual({ IMAGE_TAG: 'v-7-final' });
    expect(run.log.some((l) => l.includes('Exported variable UNSET_ONE is not set at the end of the build'))).toBe(true);
  });

  it('refuses parameter-store and secrets-manager without a secret source, and masks resolved secrets in the log', async () => {
    const text = `version: 0.2
env:
  parameter-store:
    DB_PASSWORD: /app/db-password
  exported-variables: [DB_PASSWORD]
phases:
  build:
    commands:
      - echo "password is $DB_PASSWORD"
`;
    const refused = await build([spec(text)]);
    expect(refused.status).toBe('FAILED');
    expect(refused.failedPhase).toBe('PROVISIONING');
    expect(refused.message).toBe('env.parameter-store DB_PASSWORD (/app/db-password): the local runner has no AWS credentials to read it; give the variable a PLAINTEXT value for local runs, or run the build in CodeBuild');
    const asked: string[] = [];
    const resolved = await build([spec(text)], {
      secrets: { parameter: async (name) => (asked.push(name), 's3cr3t-value'), secret: async () => { throw new Error('not asked'); } },
    });
    expect(asked).toEqual(['/app/db-password']);
    expect(resolved.status).toBe('SUCCEEDED');
    expect(resolved.log).toContain('password is ***');
    expect(resolved.log.join('\n')).not.toContain('s3cr3t-value');
    expect(resolved.exportedVariables).toEqual({});
  });

  it('logs runtime-versions and what it skips, and runs on', async () => {
    const run = await build([spec('version: 0.2\ncache:\n  paths: [x]\nphases:\n  install:\n    runtime-versions:\n      nodejs: 20\n    commands: [echo installed]\n')]);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.some((l) => l.endsWith('runtime-versions nodejs: 20 skipped: the local runner uses this machine\'s tools'))).toBe(true);
    expect(run.log.some((l) => l.endsWith('Skipped locally: cache: nothing is cached between local builds'))).toBe(true);
  });

  it('times a build out, killing what its commands started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-marker-'));
    dirs.push(dir);
    const pidFile = join(dir, 'pid');
    const run = await build([spec(`version: 0.2\nphases:\n  build:\n    commands:\n      - sh -c 'echo $$ > ${pidFile}; exec sleep 30' &\n      - sleep 30\n`)], { timeLimitMs: 1500 });
    expect(run.status).toBe('TIMED_OUT');
    expect(run.failedPhase).toBe('BUILD');
    expect(run.message).toBe('the build ran past its time limit of 2 s');
    // The background child was in the build's process group: it is gone (or a zombie awaiting its reaper).
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const deadline = Date.now() + 5000;
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });

  it('stops a build when asked', async () => {
    const controller = new AbortController();
    const running = build([spec('version: 0.2\nphases:\n  build:\n    commands:\n      - echo started\n      - sleep 30\n')], {
      signal: controller.signal,
      log: (line) => {
        if (line === 'started') controller.abort();
      },
    });
    const run = await running;
    expect(run.status).toBe('STOPPED');
    expect(run.failedPhase).toBe('BUILD');
  });

  it('fails DOWNLOAD_SOURCE for a source that is not a zip, a missing buildspec or a bad one, naming the cause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-bad-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'x.tar'), 'not a zip at all');
    const notZip = await runLocalBuild({ sourceZip: join(dir, 'x.tar'), projectName: 'p', buildId: 'p:1', buildNumber: 1, sourceVersion: 'v', timeLimitMs: 5000, outputZip: join(dir, 'o.zip'), log: () => undefined });
    expect(notZip.status).toBe('FAILED');
    expect(notZip.failedPhase).toBe('DOWNLOAD_SOURCE');
    expect(notZip.message).toMatch(/^the source is not a zip Fleetline can extract: not a valid zip archive/);

    const hostile = await build([{ path: '../escape.txt', content: 'x' }, spec('version: 0.2\nphases: {}\n')]);
    expect(hostile.failedPhase).toBe('DOWNLOAD_SOURCE');
    expect(hostile.message).toContain('../escape.txt');

    const missing = await build([{ path: 'index.html', content: 'x' }]);
    expect(missing.message).toBe('YAML_FILE_ERROR: the source has no buildspec.yml at its root (add one, or give the action a buildspec)');

    const bad = await build([spec('version: 0.3\nphases:\n  build:\n    commands: [make]\n')]);
    expect(bad.failedPhase).toBe('DOWNLOAD_SOURCE');
    expect(bad.message).toContain('$.version is 0.3: only version 0.2 is supported');
  });

  it('uses the action\'s buildspec over the source\'s', async () => {
    const run = await build([spec('version: 0.2\nphases:\n  build:\n    commands: [echo from-source]\n')], {
      buildspec: 'version: 0.2\nphases:\n  build:\n    commands: [echo from-action]\n',
    });
    expect(run.log).toContain('from-action');
    expect(run.log).not.toContain('from-source');
  });

  it('runs bash when env.shell asks for it', async () => {
    const run = await build([spec('version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands:\n      - echo "bash $BASH_VERSINFO"\n')]);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.some((l) => /^bash \d+$/.test(l))).toBe(true);
  });
});
