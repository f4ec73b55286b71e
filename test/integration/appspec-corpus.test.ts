import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { validateBundle } from '../../cli/bundle.js';
import { S3AppspecReader } from '../../lib/adapters/aws/s3-appspec-reader.js';
import { inspectRevision } from '../../lib/revisions/check-revision.js';
import { LOCAL_CREDENTIALS } from '../../local/dynamodb-local.js';
import { type CorpusCase, REALISTIC, VARIANTS } from '../support/appspec-corpus.js';
import { zipBundle } from '../support/bundles.js';

const s3 = new S3Client({ region: 'us-east-1', endpoint: inject('s3Endpoint'), credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
const reader = new S3AppspecReader(s3);
const Bucket = 'fleetline-test-artifacts';
const work = mkdtempSync(join(tmpdir(), 'fleetline-appspec-corpus-'));
afterAll(() => {
  s3.destroy();
  rmSync(work, { recursive: true, force: true });
});

const quoted = (pattern: RegExp, text: string) => [...text.matchAll(pattern)].map((m) => (m[1] as string).replace(/^\/+/, ''));

/**
 * The bundle of a case: its appspec, every hook script and `files` source it
 * names (a name with a dot is a file, else a folder holding one), and its tree.
 */
function bundleOf(c: CorpusCase): Record<string, string> {
  const files: Record<string, string> = { ...c.tree };
  const taken = (p: string) => Object.keys(files).some((f) => f === p || f.startsWith(`${p}/`));
  for (const location of quoted(/location:\s*["']?([^"'\s#,}]+)/g, c.appspec)) if (!taken(location)) files[location] = '#!/bin/sh\ntrue\n';
  for (const source of quoted(/source:\s*["']?([^"'\s#,}]+)/g, c.appspec)) {
    if (source === '' || source.endsWith('/') || taken(source)) continue;
    if (posix.basename(source).includes('.')) files[source] = 'content\n';
    else files[`${source}/index.txt`] = 'content\n';
  }
  files[c.appspecName ?? 'appspec.yml'] = c.appspec;
  if (!c.folder) return files;
  return Object.fromEntries(Object.entries(files).map(([path, content]) => [posix.normalize(`${c.folder}/${path}`), content]));
}

interface Verdict {
  problems: string[];
  warnings: string[];
}

/** `fleetline bundle validate` on the bundle as a folder. */
async function viaBundleValidate(c: CorpusCase, id: string): Promise<Verdict> {
  const root = join(work, id);
  for (const [path, content] of Object.entries(bundleOf(c))) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  const { problems, warnings } = await validateBundle(root);
  return { problems: problems.map((p) => p.message), warnings: warnings.map((w) => w.message) };
}

/** Preflight on the bundle as a zip in S3. */
async function viaPreflight(c: CorpusCase, id: string): Promise<Verdict> {
  const key = `corpus/${id}.zip`;
  await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: await zipBundle(Object.entries(bundleOf(c)).map(([path, content]) => ({ path, content }))) }));
  const { problems, warnings } = await inspectRevision({ bucket: Bucket, key, bundleType: 'zip' }, { appspecs: reader });
  return { problems: problems.map((p) => p.message), warnings: warnings.map((w) => w.message) };
}

function expectVerdict(c: CorpusCase, got: Verdict, where: string): void {
  const context = `${where}: ${JSON.stringify(got, null, 1)}`;
  if ('accept' in c.verdict) {
    expect(got.problems, context).toEqual([]);
    expect(got.warnings, context).toHaveLength(c.verdict.accept.length);
    c.verdict.accept.forEach((pattern, i) => expect(got.warnings[i], context).toMatch(pattern));
  } else {
    expect(got.problems, context).toHaveLength(c.verdict.refuse.length);
    c.verdict.refuse.forEach((pattern, i) => expect(got.problems[i], context).toMatch(pattern));
  }
}

const runCase = async (c: CorpusCase, id: string) => {
  const [validated, preflighted] = await Promise.all([viaBundleValidate(c, id), viaPreflight(c, id)]);
  expectVerdict(c, validated, 'bundle validate');
  expectVerdict(c, preflighted, 'preflight');
};

describe('a corpus of realistic appspecs: bundle validate and preflight accept what CodeDeploy accepts', () => {
  it('holds at least 50 of them', () => {
    expect(REALISTIC.length).toBeGreaterThanOrEqual(50);
    expect(new Set(REALISTIC.map((c) => c.name)).size).toBe(REALISTIC.length);
  });

  it.each(REALISTIC.map((c, i) => [c.name, c.rule, c, i] as const))('%s (%s)', async (_name, _rule, c, i) => {
    await runCase(c, `real-${i}`);
  });
});

describe('single-change variants: each verdict and warning as the CodeDeploy agent rule gives it', () => {
  it.each(VARIANTS.map((c, i) => [c.name, c.rule, c, i] as const))('%s (%s)', async (_name, _rule, c, i) => {
    await runCase(c, `variant-${i}`);
  });
});
