import { describe, expect, it } from 'vitest';
import { artifactGlobMatch, selectArtifactFiles } from '../../lib/domain/artifact-glob.js';
import { BuildspecError, afterPhaseFailure, parseBuildspec } from '../../lib/domain/buildspec.js';
import type { ErrorDetail } from '../../lib/errors.js';

function problems(source: string): ErrorDetail[] {
  try {
    parseBuildspec(source);
  } catch (error) {
    expect(error).toBeInstanceOf(BuildspecError);
    return (error as BuildspecError).details;
  }
  throw new Error('expected the buildspec to be refused');
}

describe('parseBuildspec', () => {
  it('reads every supported key of version 0.2, with CodeBuild\'s defaults', () => {
    const spec = parseBuildspec(`version: 0.2
env:
  shell: bash
  variables:
    STAGE: prod
    RETRIES: 3
  parameter-store:
    DB_URL: /app/db
  exported-variables: [IMAGE_TAG]
phases:
  install:
    runtime-versions:
      nodejs: 20
    commands:
      - npm ci
  build:
    on-failure: CONTINUE
    commands: [make]
    finally: [echo done]
artifacts:
  files: ['**/*']
  base-directory: ./dist/
  discard-paths: yes
  exclude-paths: '*.map'
  name: web
`);
    expect(spec.env).toEqual({ shell: 'bash', variables: { STAGE: 'prod', RETRIES: '3' }, parameterStore: { DB_URL: '/app/db' }, secretsManager: {}, exportedVariables: ['IMAGE_TAG'] });
    expect(spec.phases.install).toEqual({ commands: ['npm ci'], finally: [], onFailure: 'ABORT', runtimeVersions: { nodejs: '20' } });
    expect(spec.phases.build).toEqual({ commands: ['make'], finally: ['echo done'], onFailure: 'CONTINUE', runtimeVersions: {} });
    expect(spec.phases.pre_build).toBeUndefined();
    expect(spec.artifacts).toEqual({ files: ['**/*'], baseDirectory: 'dist', discardPaths: true, excludePaths: ['*.map'], name: 'web' });
    expect(parseBuildspec('version: "0.2"\nphases:\n  build:\n    commands: [true]\n'.replace('[true]', '["true"]')).env.shell).toBe('/bin/sh');
  });

  it('names a YAML error by line and column', () => {
    const [detail] = problems('version: 0.2\nphases:\n  build:\n    commands: [make\n');
    expect(detail?.line).toBeGreaterThanOrEqual(4);
    expect(detail?.message).toMatch(/\(line \d+, column \d+\)/);
  });

  it('refuses any version but 0.2, naming the version and where it is', () => {
    const [detail] = problems('version: 0.1\nphases:\n  build:\n    commands: [make]\n');
    expect(detail).toMatchObject({ path: '$.version', line: 1 });
    expect(detail?.message).toContain('only version 0.2 is supported');
    expect(problems('phases:\n  build:\n    commands: [make]\n')[0]?.message).toContain('is required');
  });

  it('refuses a phase whose commands are not a list of strings, at the offending item', () => {
    const details = problems('version: 0.2\nphases:\n  build:\n    commands:\n      - make\n      - true\n      - {a: b}\n  post_build:\n    commands: make\n');
    expect(details.map((d) => d.path)).toEqual(['$.phases.build.commands[1]', '$.phases.build.commands[2]', '$.phases.post_build.commands']);
    expect(details[0]).toMatchObject({ line: 6 });
    expect(details[0]?.message).toContain('must be a command (a string)');
    expect(details[2]?.message).toContain('must be a list of commands');
  });

  it('refuses unknown phases, on-failure values, shells, batch builds and artifact paths leaving the source', () => {
    const details = problems(`version: 0.2
env:
  shell: powershell.exe
batch:
  fast-fail: true
phases:
  test:
    commands: [x]
  build:
    on-failure: RETRY
    commands: [x]
artifacts:
  base-directory: ../up
  files: [/etc/passwd]
`);
    const byPath = Object.fromEntries(details.map((d) => [d.path, d.message]));
    expect(byPath['$.env.shell']).toContain('bash or /bin/sh');
    expect(byPath['$.phases.test']).toBe('is not a known field (line 8, column 5)');
    expect(byPath['$.phases.build["on-failure"]']).toContain('ABORT or CONTINUE');
    expect(byPath['$.artifacts["base-directory"]']).toContain('inside the source folder');
    expect(byPath['$.artifacts.files[0]']).toContain('not absolute');
    expect(byPath['$.batch']).toContain('batch builds');
  });

  it('lists what it skips locally', () => {
    const spec = parseBuildspec('version: 0.2\ncache:\n  paths: [x]\nreports:\n  r:\n    files: [x]\nphases:\n  build:\n    run-as: app\n    commands: [make]\n');
    expect(spec.skipped).toEqual([
      "phases.build.run-as app: commands run as the runner's own user",
      'cache: nothing is cached between local builds',
      'reports: test reports are not collected locally',
    ]);
  });

  it('follows CodeBuild\'s transitions after a failed phase', () => {
    expect(afterPhaseFailure('install', 'ABORT')).toBe('finalize');
    expect(afterPhaseFailure('pre_build', 'ABORT')).toBe('finalize');
    expect(afterPhaseFailure('build', 'ABORT')).toBe('next');
    expect(afterPhaseFailure('post_build', 'ABORT')).toBe('upload');
    expect(afterPhaseFailure('install', 'CONTINUE')).toBe('next');
  });
});

describe('artifact globs', () => {
  it('matches ** across folders, * and ? within a name', () => {
    expect(artifactGlobMatch('**/*', 'a/b/c.js')).toBe(true);
    expect(artifactGlobMatch('**/*', 'c.js')).toBe(true);
    expect(artifactGlobMatch('out/**', 'out/a/b')).toBe(true);
    expect(artifactGlobMatch('out/**', 'outx/a')).toBe(false);
    expect(artifactGlobMatch('*.js', 'a/b.js')).toBe(false);
    expect(artifactGlobMatch('**/*.js', 'a/b.js')).toBe(true);
    expect(artifactGlobMatch('a/**/c?.txt', 'a/c1.txt')).toBe(true);
    expect(artifactGlobMatch('a/**/c?.txt', 'a/x/y/c12.txt')).toBe(false);
    expect(artifactGlobMatch('./appspec.yml', 'appspec.yml')).toBe(true);
  });

  it('selects below the base directory, excludes, discards paths and reports patterns that matched nothing', () => {
    const files = ['dist/app.js', 'dist/app.js.map', 'dist/lib/x.js', 'src/main.ts', 'appspec.yml'];
    expect(selectArtifactFiles(files, { files: ['**/*', 'nothing/**'], baseDirectory: 'dist', discardPaths: false, excludePaths: ['**/*.map'] })).toEqual({
      entries: [{ from: 'dist/app.js', to: 'app.js' }, { from: 'dist/lib/x.js', to: 'lib/x.js' }],
      unmatched: ['nothing/**'],
    });
    expect(selectArtifactFiles(files, { files: ['dist/**/*.js'], baseDirectory: '', discardPaths: true, excludePaths: [] }).entries).toEqual([
      { from: 'dist/app.js', to: 'app.js' },
      { from: 'dist/lib/x.js', to: 'x.js' },
    ]);
  });
});
