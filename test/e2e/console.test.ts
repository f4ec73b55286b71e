import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { FleetlineApi } from '../../cli/api.js';
import { startConsoleServer } from '../../cli/console-server.js';
import { createApiHandler } from '../../lib/api/handler.js';
import { type DevServer, PRINCIPAL_HEADER, startDevServer } from '../../local/dev-server.js';
import { SAMPLE_ADMIN_ROLE, useApi } from '../support/api-harness.js';
import { startAgent } from '../support/agent-process.js';
import { script, zipBundle } from '../support/bundles.js';
import { waitForDeploymentEnd } from '../support/deployment-end.js';

/**
 * The web console in a real browser (Debian's headless Chromium) against the
 * local dev server, with a real agent whose ValidateService hook fails: the
 * person sees the fleet, opens the failed deployment, reads the first failure
 * in one line and the host's output, and retries the failed host.
 */
const CHROMIUM = '/usr/bin/chromium-headless-shell';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`console tests skipped: ${CHROMIUM} is missing (apt-get install chromium-headless-shell; .ci/run installs it)`);

const api = useApi();
const Bucket = 'fleetline-test-artifacts';
const work = mkdtempSync(join(tmpdir(), 'fleetline-console-'));
let server: DevServer;
let agent: ReturnType<typeof startAgent> | undefined;
let browser: Browser | undefined;
let page: Page;
let failedId: string;
/** Each screen as the test run saw it, for the README (docs/console/). */
const SCREENSHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));
const screenshot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
/** Errors the page threw (none may). */
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  const consoleDir = await buildConsole(join(work, 'console'));
  server = await startDevServer(createApiHandler(api.deps), 0, undefined, { consoleDir });
  await api.call('PUT', '/applications/shop', { body: { revisionSources: [{ bucket: Bucket, prefix: 'shop/' }] } });
  await api.call('PUT', '/applications/shop/groups/web', { body: { targets: { onPremisesTagSet: [[{ key: 'console', value: 'web', type: 'KEY_AND_VALUE' }]] } } });
  await api.call('PUT', '/instances/con-1', { body: { tags: [{ key: 'console', value: 'web' }] } });
  // Registered but never started: an instance whose agent was never seen.
  await api.call('PUT', '/instances/con-idle', { body: { tags: [{ key: 'console', value: 'spare' }] } });
  agent = startAgent({ apiUrl: server.url, instanceId: 'con-1', stateDir: join(work, 'agent'), tags: '' });

  const Key = 'shop/release-7.zip';
  const bundle = await zipBundle([
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  ValidateService:\n    - location: scripts/check.sh\n      timeout: 30\n' },
    { path: 'scripts/check.sh', mode: 0o755, content: script('echo "checking the shop on port 8080"\necho "health check failed: 503" >&2\nexit 3') },
  ]);
  await api.s3.send(new PutObjectCommand({ Bucket, Key, Body: bundle }));
  const created = await api.call('POST', '/deployments', { body: { application: 'shop', group: 'web', revision: { bucket: Bucket, key: Key } } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  failedId = created.body.deploymentId;
  const end = await waitForDeploymentEnd(failedId, async () => (await api.call('GET', `/deployments/${failedId}`)).body, { timeoutMs: 90_000 });
  expect(end.status).toBe('Failed');

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // The dev server's identity switch: this harness's admin, as `npm start`'s caller is the local admin.
  await page.setExtraHTTPHeaders({ [PRINCIPAL_HEADER]: SAMPLE_ADMIN_ROLE });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  if (hasChromium) expect(pageErrors).toEqual([]);
  await browser?.close();
  await agent?.stop();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!hasChromium)('the web console', () => {
  it('shows every group with its last deployment and the instances by agent state', async () => {
    await page.goto(`${server.url}/console/`);
    const row = page.locator('table', { has: page.locator('caption', { hasText: 'Deployment groups' }) }).locator('tbody tr', { hasText: 'shop' });
    await expect.poll(() => row.innerText(), { timeout: 15_000 }).toContain(failedId);
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.slice(0, 5)).toEqual(['shop', 'web', 'none deployed yet', failedId, 'Failed']);
    expect(await page.getByTestId('agent-summary').innerText()).toBe('2 instances: 1 online, 1 offline');
    const instances = page.locator('table', { has: page.locator('caption', { hasText: 'Instances' }) });
    expect(await instances.locator('tbody tr', { hasText: 'con-idle' }).innerText()).toContain('never seen');
    expect(await instances.locator('tbody tr', { hasText: 'con-1' }).innerText()).toMatch(/online \((push|poll)\w*\)/);
    await screenshot('fleet');
  });

  it('opens the failed deployment from the fleet with the keyboard and explains the first failure in one line', async () => {
    await page.goto(`${server.url}/console/`);
    const link = page.getByRole('link', { name: failedId });
    await link.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate<string>('location.hash')).toBe(`#/deployments/${failedId}`);
    const failure = page.getByTestId('failure');
    await failure.waitFor({ timeout: 15_000 });
    expect(await failure.innerText()).toMatch(/^con-1 failed at ValidateService: .*check\.sh.* \(ScriptFailed, exit code 3\)$/);
    // The failed host is open with its events: ValidateService failed with exit code 3.
    const host = page.locator('[data-instance="con-1"]');
    expect(await host.locator('.event-validateservice, .event-failed').last().innerText()).toMatch(/ValidateService\s+Failed.*exit code 3/s);
    expect(await page.locator('label[for="healthy"]').innerText()).toBe('Healthy hosts: 0 of 1 (minimum 0)');
    await screenshot('deployment');
  });

  it('shows the host\'s output, filtered as you type', async () => {
    await page.goto(`${server.url}/console/#/deployments/${failedId}`);
    await page.locator('[data-instance="con-1"]').getByRole('link', { name: 'Full log' }).click();
    const log = page.getByTestId('log');
    await expect.poll(() => log.innerText(), { timeout: 15_000 }).toContain('health check failed: 503');
    expect(await log.innerText()).toContain('checking the shop on port 8080');
    await screenshot('host-log');
    await page.getByLabel('Find in log').fill('503');
    await expect.poll(() => log.innerText()).toBe('health check failed: 503');
  });

  it('retries the failed hosts: the console moves to the new deployment, which names the one it retries', async () => {
    await page.goto(`${server.url}/console/#/deployments/${failedId}`);
    await page.getByRole('button', { name: 'Retry failed hosts' }).click();
    await expect.poll(() => page.evaluate<string>('location.hash'), { timeout: 15_000 }).not.toBe(`#/deployments/${failedId}`);
    const retryId = decodeURIComponent((await page.evaluate<string>('location.hash')).replace('#/deployments/', ''));
    const retry = await api.call('GET', `/deployments/${retryId}`);
    expect(retry.body).toMatchObject({ retryOf: failedId, targetInstances: { instanceIds: ['con-1'] } });
    await page.locator('h1', { hasText: retryId }).waitFor({ timeout: 15_000 });
    await waitForDeploymentEnd(retryId, async () => (await api.call('GET', `/deployments/${retryId}`)).body, { timeoutMs: 90_000 });
  }, 120_000);

  it('follows a pipeline: its deploy action links the deployment, and the approval is answered with a comment that the execution keeps', async () => {
    await api.call('PUT', '/applications/shop/groups/stage', { body: { targets: { onPremisesTagSet: [[{ key: 'console', value: 'web', type: 'KEY_AND_VALUE' }]] } } });
    const put = await api.call('PUT', '/pipelines/shop-release', {
      body: {
        source: { bucket: Bucket, prefix: 'shop/releases/' },
        stages: [
          { name: 'Stage', actions: [{ type: 'deploy', name: 'DeployStage', application: 'shop', group: 'stage' }] },
          { name: 'Gate', actions: [{ type: 'approval', name: 'ReleaseApproval' }] },
        ],
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    const Key = 'shop/releases/release-8.zip';
    await api.s3.send(new PutObjectCommand({ Bucket, Key, Body: await zipBundle([{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }]) }));
    const started = await api.call('POST', '/pipelines/shop-release/executions', { body: { revision: { bucket: Bucket, key: Key } } });
    expect(started.status, JSON.stringify(started.body)).toBeLessThan(300);
    const executionId = started.body.executionId as string;

    await page.goto(`${server.url}/console/#/pipelines`);
    await page.getByRole('link', { name: executionId }).click();
    const approval = page.locator('[data-action="ReleaseApproval"]');
    // The screen reads the execution again until the deploy succeeds and the approval waits.
    await approval.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 90_000 });
    expect(await page.locator('[data-stage="Stage"]').innerText()).toMatch(/Stage\s+Succeeded[\s\S]*DeployStage \(deploy\)\s+Succeeded[\s\S]*Deployment d-/);
    await screenshot('execution');
    const comment = approval.getByLabel('Comment on ReleaseApproval');
    await comment.fill('smoke tests green');
    // The screen is read again every few seconds while the execution runs: what was typed survives the next reads.
    for (let read = 0; read < 2; read++) await page.waitForResponse((r) => r.url().endsWith(`/executions/${executionId}`), { timeout: 15_000 });
    expect(await comment.inputValue()).toBe('smoke tests green');
    await approval.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.locator('h1 .badge').innerText(), { timeout: 30_000 }).toBe('Succeeded');
    expect(await page.locator('[data-action="ReleaseApproval"] .decision').innerText()).toBe(`Approved by ${SAMPLE_ADMIN_ROLE}: “smoke tests green”`);
    const recorded = await api.call('GET', `/executions/${executionId}`);
    expect(recorded.body.stages[1].actions[0].decision).toMatchObject({ approved: true, comment: 'smoke tests green', by: SAMPLE_ADMIN_ROLE });
  }, 150_000);

  it('follows a running deployment without reloading, and stops it with a click', async () => {
    // The hook waits for a file the test writes: the deployment runs until then, or until it is stopped.
    const gate = join(work, `gate-${Date.now()}`);
    const Key = 'shop/release-9.zip';
    await api.s3.send(new PutObjectCommand({
      Bucket,
      Key,
      Body: await zipBundle([
        { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: start.sh\n      timeout: 120\n' },
        { path: 'start.sh', mode: 0o755, content: script(`echo starting\nwhile [ ! -e ${gate} ]; do sleep 0.2; done`) },
      ]),
    }));
    const created = await api.call('POST', '/deployments', { body: { application: 'shop', group: 'web', revision: { bucket: Bucket, key: Key } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.deploymentId as string;
    await page.goto(`${server.url}/console/#/deployments/${id}`);
    const status = page.locator('h1 .badge');
    // Read again by the page itself (no reload): the host gets to ApplicationStart.
    await expect.poll(() => page.locator('[data-instance="con-1"] summary').innerText(), { timeout: 60_000 }).toMatch(/InProgress ApplicationStart/);
    expect(await status.innerText()).toBe('InProgress');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => status.innerText(), { timeout: 60_000 }).toBe('Stopped');
    expect(await page.getByTestId('failure').innerText()).toBe(`Stopped by ${SAMPLE_ADMIN_ROLE}`);
    const stopped = await api.call('GET', `/deployments/${id}`);
    expect(stopped.body).toMatchObject({ status: 'Stopped', stopRequested: { by: SAMPLE_ADMIN_ROLE } });
  }, 150_000);

  it('shows a group\'s current revision once a deployment to it has succeeded', async () => {
    await page.goto(`${server.url}/console/#/`);
    const row = page.locator('table', { has: page.locator('caption', { hasText: 'Deployment groups' }) }).locator('tbody tr', { hasText: 'stage' });
    await expect.poll(async () => (await row.locator('td').allInnerTexts()).slice(0, 3), { timeout: 15_000 }).toEqual(['shop', 'stage', `s3://${Bucket}/shop/releases/release-8.zip`]);
  });

  it('through fleetline console --as a principal who may only read, Redeploy is shown as refused on the same screen, not as an error page', async () => {
    const viewer = 'arn:aws:iam::111122223333:role/console-viewer';
    const rule = await api.call('PUT', '/access-rules/console-viewer', {
      body: { effect: 'Allow', principals: [viewer], actions: ['deployments:get'], resources: ['application/shop/group/*'] },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const proxy = await startConsoleServer(new FleetlineApi({ apiUrl: server.url, principal: viewer }), 0, join(work, 'console'));
    const asViewer = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    asViewer.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      const address = new URL(proxy.pageUrl);
      address.hash = `#/deployments/${failedId}`;
      await asViewer.goto(address.toString());
      await asViewer.getByTestId('failure').waitFor({ timeout: 15_000 });
      await asViewer.getByRole('button', { name: 'Redeploy' }).click();
      const status = asViewer.locator('#action-status');
      await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^Redeploy refused: /);
      // Still the deployment's screen, still showing it.
      expect(await asViewer.locator('h1').innerText()).toContain(failedId);
      await expect.poll(() => asViewer.evaluate<string>('location.hash')).toBe(`#/deployments/${failedId}`);
      // The page's address lost its token (kept for the tab only).
      expect(await asViewer.evaluate<string>('location.search')).toBe('');
    } finally {
      await asViewer.close();
      await proxy.stop();
    }
  });

  it('lists the history of deployments and executions, filtered by status from its form', async () => {
    await page.goto(`${server.url}/console/#/history?status=Failed`);
    const deployments = page.locator('table', { has: page.locator('caption', { hasText: 'Deployments' }) });
    await expect.poll(() => deployments.locator('tbody').innerText(), { timeout: 15_000 }).toContain(failedId);
    const statuses = await deployments.locator('tbody tr td:nth-child(3)').allInnerTexts();
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['Failed']));
    await page.getByLabel('Status').selectOption('Stopped');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.evaluate<string>('location.hash')).toBe('#/history?status=Stopped');
    await expect.poll(async () => new Set(await deployments.locator('tbody tr td:nth-child(3)').allInnerTexts()), { timeout: 15_000 }).toEqual(new Set(['Stopped']));
    expect(await deployments.locator('tbody').innerText()).toContain('shop/release-9.zip');
    await page.getByLabel('Status').selectOption('Succeeded');
    await page.getByRole('button', { name: 'Show' }).click();
    const executions = page.locator('table', { has: page.locator('caption', { hasText: 'Pipeline executions' }) });
    await expect.poll(() => executions.locator('tbody').innerText(), { timeout: 15_000 }).toMatch(/shop-release\s+Succeeded/);
    await screenshot('history');
  });

  it('fits a phone\'s width without sideways scrolling', async () => {
    const phone = await browser!.newPage({ viewport: { width: 375, height: 800 }, extraHTTPHeaders: { [PRINCIPAL_HEADER]: SAMPLE_ADMIN_ROLE } });
    try {
      await phone.goto(`${server.url}/console/#/deployments/${failedId}`);
      await phone.getByTestId('failure').waitFor({ timeout: 15_000 });
      expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    } finally {
      await phone.close();
    }
  });

  it('serves only its own files, with a policy that lets the page load nothing else, and stays within its size budget', async () => {
    const index = await fetch(`${server.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // Sent as written (fetch would resolve the dots before they reach the server).
    const { port } = new URL(server.url);
    for (const path of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/..%2fpackage.json', '/console/app.js.map', '/console/build.ts']) {
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
      expect(status, path).toBe(404);
    }
    expect((await fetch(`${server.url}/console/app.js`, { method: 'POST', headers: { 'content-type': 'application/json' } })).status).toBe(404);
    // Budget: 150 KB of compressed script for the first page.
    expect(gzipSync(readFileSync(join(work, 'console', 'app.js'))).length).toBeLessThan(150 * 1024);
  });
});
