import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';

/**
 * A caller denied everything named *secret* walks every list that filters by
 * access, one item per page: no page and no nextToken carries a denied name,
 * and the walk still reaches every item it may see.
 */
const api = useApi();
const BUCKET = 'fleetline-test-artifacts';
const BOB = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
const BOB_ROLE = 'arn:aws:iam::111122223333:role/deployer';

// Hidden names before, between and after the visible ones, in every listing's order.
const NAMES = ['0-secret', 'a-web', 'b-secret', 'c-web', 'd-secret', 'e-secret', 'f-web', 'z-secret'];
const VISIBLE = NAMES.filter((n) => !n.includes('secret'));
const deploymentIds: Record<string, string> = {};

beforeAll(async () => {
  const admin = api.call;
  const targets = { targets: { onPremisesTagSet: [[{ key: 'none', type: 'KEY_ONLY' }]] } };
  for (const name of NAMES) {
    await admin('PUT', `/applications/${name}`);
    await admin('PUT', `/instances/${name}`, { body: { tags: [] } });
    await admin('PUT', `/pipelines/${name}`, { body: { source: { bucket: BUCKET, prefix: `${name}/` }, stages: [{ name: 'A', actions: [{ type: 'approval' }] }] } });
    await admin('PUT', `/applications/a-web/groups/${name}`, { body: targets });
    await admin('PUT', `/applications/${name}/groups/prod`, { body: targets });
  }
  // One deployment per application, created in turn (the listing is newest first: hidden ones in between).
  for (const name of NAMES) {
    await putBundle(api.s3, BUCKET, `${name}/a.zip`);
    const created = await admin('POST', '/deployments', { body: { application: name, group: 'prod', revision: { bucket: BUCKET, key: `${name}/a.zip` } } });
    expect(created.status).toBe(201);
    deploymentIds[name] = created.body.deploymentId;
  }
  await admin('PUT', '/access-rules/bob-all', { body: { effect: 'Allow', principals: [BOB_ROLE], actions: ['*'], resources: ['*'] } });
  await admin('PUT', '/access-rules/bob-no-secrets', {
    body: { effect: 'Deny', principals: [BOB_ROLE], actions: ['*'], resources: ['application/*secret*', 'instance/*secret*', 'pipeline/*secret*'] },
  });
}, 120_000);

/** Everything a token could say, read the way a caller would: its text, and its base64 decoded. */
function readable(token: string): string {
  return `${token} ${Buffer.from(token, 'base64url').toString('utf8')} ${Buffer.from(token, 'base64').toString('utf8')}`;
}

async function walk(path: string, query: Record<string, string> = {}): Promise<{ items: any[]; seen: string[] }> {
  const items: any[] = [];
  const seen: string[] = [];
  let nextToken: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const res = await api.call('GET', path, { principal: BOB, query: { ...query, limit: '1', ...(nextToken ? { nextToken } : {}) } });
    expect([path, res.status]).toEqual([path, 200]);
    expect(res.body.items.length).toBeLessThanOrEqual(1);
    items.push(...res.body.items);
    seen.push(JSON.stringify(res.body));
    nextToken = res.body.nextToken;
    if (!nextToken) return { items, seen };
    seen.push(readable(nextToken));
  }
  throw new Error(`${path} never ended`);
}

const hiddenIds = () => NAMES.filter((n) => n.includes('secret')).map((n) => deploymentIds[n] as string);

describe('pagination tokens carry nothing a Deny hides', () => {
  const lists: [string, string, Record<string, string>, (item: any) => string, string[]][] = [
    ['applications', '/applications', {}, (a) => a.name, VISIBLE],
    ['groups', '/applications/a-web/groups', {}, (g) => g.name, [...VISIBLE, 'prod']],
    ['instances', '/instances', {}, (i) => i.instanceId, VISIBLE],
    ['pipelines', '/pipelines', {}, (p) => p.name, VISIBLE],
    ['deployments', '/deployments', {}, (d) => d.application, [...VISIBLE].reverse()],
    ['deployments with a status filter', '/deployments', { status: 'Failed' }, (d) => d.application, [...VISIBLE].reverse()],
  ];

  it.each(lists)('%s: a walk with limit=1 shows every visible item and no denied name or ID, in any page or token', async (_what, path, query, nameOf, expected) => {
    await api.settle(); // the deployments have failed (no host matches)
    const { items, seen } = await walk(path, query);
    expect(items.map(nameOf)).toEqual(expected);
    const text = seen.join('\n');
    expect(text).not.toMatch(/secret/);
    for (const id of hiddenIds()) expect(text).not.toContain(id);
  });

  it('deployments of a hidden application: the answer for an application that does not exist, with no token and no ID', async () => {
    await api.settle();
    const hidden = await api.call('GET', '/deployments', { principal: BOB, query: { application: 'b-secret', limit: '1' } });
    const absent = await api.call('GET', '/deployments', { principal: BOB, query: { application: 'b-nosuch', limit: '1' } });
    expect(hidden.status).toBe(404);
    expect(JSON.stringify(hidden.body).replaceAll('b-secret', 'NAME')).toBe(JSON.stringify(absent.body).replaceAll('b-nosuch', 'NAME'));
    for (const id of hiddenIds()) expect(JSON.stringify(hidden.body)).not.toContain(id);
  });

  it('a token from another listing, or tampered with, is a 400 naming nextToken', async () => {
    const first = await api.call('GET', '/applications', { principal: BOB, query: { limit: '1' } });
    const token = first.body.nextToken as string;
    expect(token).toBeTruthy();
    const garbage = `${token.slice(0, -4)}!!!!`;
    for (const [path, nextToken] of [['/instances', token], ['/applications/a-web/groups', token], ['/applications', garbage], ['/applications', 'e30']] as const) {
      const res = await api.call('GET', path, { principal: BOB, query: { limit: '1', nextToken } });
      expect([path, res.status, res.body.error?.details?.map((d: any) => d.path)]).toEqual([path, 400, ['query.nextToken']]);
    }
  });
});

describe('a page resumes from the last item its caller may see', () => {
  it('whatever is hidden and whatever the page size, a walk shows exactly the visible items in order, and every token names one of them', async () => {
    const groups = Array.from({ length: 24 }, (_, n) => `g${String(n).padStart(2, '0')}`);
    await api.call('PUT', '/applications/walk');
    for (const g of groups) await api.call('PUT', `/applications/walk/groups/${g}`, { body: { targets: {} } });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: groups.length, maxLength: groups.length }), fc.integer({ min: 1, max: 7 }), async (hidden, limit) => {
        const visible = (g: { name: string }) => !hidden[groups.indexOf(g.name)];
        const shown: string[] = [];
        let nextToken: string | undefined;
        do {
          const page = await api.deps.groups.list('walk', { limit, nextToken, visible });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          shown.push(...page.items.map((g) => g.name));
          nextToken = page.nextToken;
          if (nextToken) {
            const named = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8')).SK.replace(/^GROUP#/, '');
            expect(shown).toContain(named);
          }
        } while (nextToken);
        expect(shown).toEqual(groups.filter((_, n) => !hidden[n]));
      }),
      { numRuns: 30 },
    );
  }, 120_000);
});
