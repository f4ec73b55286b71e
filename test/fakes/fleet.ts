import { randomBytes, randomUUID } from 'node:crypto';
import { Authorizer } from '../../lib/access/authorizer.js';
import type { ApiDeps } from '../../lib/api/deps.js';
import { loadConfig } from '../../lib/config.js';
import type { Clock, EventFeed } from '../../lib/ports.js';
import { FakeBuilds, FakeBundles, FakeEc2, FakeIssuer, FakeNotifier } from './aws.js';
import { fakeRepositories } from './repositories.js';
import { type FleetStore, createFleetStore } from './state.js';
import { Meter } from './store.js';

/** The sample events' caller (alice) assumes this role; the fakes' deployments make it the administrator, as the DynamoDB harness does. */
const ADMIN_ROLE = 'arn:aws:iam::111122223333:role/platform-engineer';

/** One Fleetline in memory: its records, and the AWS services around it. */
export interface FakeFleet {
  store: FleetStore;
  bundles: FakeBundles;
  ec2: FakeEc2;
  notifier: FakeNotifier;
  issuer: FakeIssuer;
  builds: FakeBuilds;
}

export function createFakeFleet(): FakeFleet {
  const bundles = new FakeBundles();
  return { store: createFleetStore(), bundles, ec2: new FakeEc2(), notifier: new FakeNotifier(), issuer: new FakeIssuer(), builds: new FakeBuilds(bundles) };
}

/**
 * The fakes' stream tells a change by its item's type and ID, not its images, so no event
 * is derived from it here: the event feed is the DynamoDB lab's (test/integration/engine-crashes,
 * event-feed), where the stream carries old and new items.
 */
const NO_EVENT_FEED: EventFeed = { changeOf: () => undefined, record: async () => {}, list: async () => ({ items: [] }) };

/** The API's (and the worker's, and the reconciler's) dependencies over the fakes, configured as the DynamoDB harness configures them. */
export function fakeApiDeps(fleet: FakeFleet, clock: Clock, meter: Meter = new Meter()): ApiDeps {
  const config = loadConfig({
    TABLE_NAME: 'fakes',
    ARTIFACT_BUCKET: 'fleetline-test-artifacts',
    STAGE: 'test',
    ADMIN_PRINCIPALS: ADMIN_ROLE,
    AGENT_ACCOUNTS: '000000000000',
    CREDENTIAL_ACCOUNTS: '111122223333',
  });
  const { connections: _pushesAreFaked, ...repositories } = fakeRepositories(fleet.store, meter);
  return {
    ...repositories,
    artifactBucket: config.artifactBucket,
    minimumAgentVersion: config.minimumAgentVersion,
    clock,
    randomBytes: (n) => randomBytes(n),
    timings: config.timings,
    agentRoleNames: config.agentRoleNames,
    agentAccounts: config.agentAccounts,
    assumableRolePath: config.assumableRolePath,
    credentialAccounts: config.credentialAccounts,
    partition: config.partition,
    channelUrl: config.channelUrl,
    ec2: fleet.ec2,
    bundles: fleet.bundles,
    issuer: fleet.issuer,
    notifier: fleet.notifier,
    authorizer: new Authorizer(repositories.accessRules, config.adminPrincipals),
    appspecs: fleet.bundles,
    builds: fleet.builds,
    events: NO_EVENT_FEED,
    newId: randomUUID,
    region: config.region,
    localS3Endpoint: config.localS3Endpoint,
  };
}
