import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableDefinition } from '../../lib/adapters/dynamodb/table.js';
import { AGENT_PACKAGE_PREFIX, LOG_PREFIX } from '../../lib/domain/artifact-location.js';
import { AGENT_VERSION } from '../../lib/domain/agent-presence.js';
import { userDataScript } from '../../cli/agent-install.js';
import { API_URL_SLOT, agentInstallDocument } from '../../cli/agent-document.js';
import { FREEZE_LEASE_SECONDS } from '../../lib/domain/freeze-lease.js';
import workerStreamFilter from '../../build/worker-stream-filter.cjs';
import { probeInit } from '../support/function-init.js';
import { type PackagedStack, REQUIRED_PARAMS, packageStack } from '../support/packaged-template.js';

let stack: PackagedStack;
/** The accounts whose roles Fleetline assumes, as a deployer passes them (spaces and all). */
const CREDENTIAL_ACCOUNTS = ['111122223333', '444455556666'];
beforeAll(async () => {
  stack = await packageStack('test', { ...REQUIRED_PARAMS, credentialAccounts: CREDENTIAL_ACCOUNTS.join(', ') });
}, 180_000);
afterAll(() => stack?.remove());

const FUNCTIONS = ['api', 'artifacts', 'channel', 'reconcile', 'worker'];
const unzipping = new Map<string, Promise<string>>();
/** The function's zip, unzipped once (as Lambda would) into the package dir. */
function unzipped(fn: string): Promise<string> {
  const dir = join(stack.dir, `unzipped-${fn}`);
  if (!unzipping.has(fn)) unzipping.set(fn, promisify(execFile)('unzip', ['-q', '-o', join(stack.dir, `${fn}.zip`), '-d', dir]).then(() => dir));
  return unzipping.get(fn)!;
}

const ofType = (type: string) => Object.entries(stack.template.Resources).filter(([, r]) => r.Type === type);

describe('the packaged CloudFormation stack (osls package, offline)', () => {
  it('holds the five functions on nodejs22.x, each with its own role', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([id]) => id).sort()).toEqual(['ApiLambdaFunction', 'ArtifactsLambdaFunction', 'ChannelLambdaFunction', 'ReconcileLambdaFunction', 'WorkerLambdaFunction']);
    const roles = functions.map(([, f]) => {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Environment.Variables.TABLE_NAME).toBe('fleetline-test');
      return f.Properties.Role['Fn::GetAtt'][0];
    });
    expect(new Set(roles).size).toBe(5);
  });

  it('declares the same table as local mode, with TTL and point-in-time recovery', () => {
    const [, table] = ofType('AWS::DynamoDB::Table')[0] ?? [];
    const local = tableDefinition('fleetline-test');
    const sortByName = <T extends { AttributeName?: string; IndexName?: string }>(xs: T[]) =>
      [...xs].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));
    expect(table?.Properties.TableName).toBe('fleetline-test');
    expect(table?.Properties.BillingMode).toBe(local.BillingMode);
    expect(table?.Properties.KeySchema).toEqual(local.KeySchema);
    expect(sortByName(table?.Properties.AttributeDefinitions)).toEqual(sortByName(local.AttributeDefinitions ?? []));
    expect(sortByName(table?.Properties.GlobalSecondaryIndexes)).toEqual(sortByName(local.GlobalSecondaryIndexes ?? []));
    expect(table?.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table?.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table?.Properties.StreamSpecification).toEqual({ StreamViewType: local.StreamSpecification?.StreamViewType });
  });

  it('feeds the worker from the table stream: partial batch failures, bisection, bounded retries, a failure queue', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]![1];
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['FleetlineTable', 'StreamArn'] },
      FunctionName: { 'Fn::GetAtt': ['WorkerLambdaFunction', 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 8,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['WorkerFailuresQueue', 'Arn'] } } },
    });
    // Only the records the worker acts on reach it, the same the local stream poller hands it
    // (test/unit/worker-stream-filter.test.ts holds the filter to what the worker does).
    const patterns = (mapping.Properties.FilterCriteria.Filters as { Pattern: string }[]).map((f) => JSON.parse(f.Pattern));
    expect(patterns).toEqual(workerStreamFilter.patterns);
    expect(patterns.length).toBeLessThanOrEqual(5);
  });

  it('sends EC2 instances entering running to the worker (a catch-up), through a rule on the default bus and nothing else', () => {
    // The other rules are the reconciler's schedule and CodeBuild's build ends (below).
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern?.source?.includes('aws.ec2'));
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.EventPattern).toEqual({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['running'] } });
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.Targets.map((t: { Arn: unknown }) => t.Arn)).toEqual([{ 'Fn::GetAtt': ['WorkerLambdaFunction', 'Arn'] }]);
    // EventBridge may invoke the worker for its rules alone.
    const worker = { 'Fn::GetAtt': ['WorkerLambdaFunction', 'Arn'] };
    const invokers = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'events.amazonaws.com' && JSON.stringify(p.Properties.FunctionName) === JSON.stringify(worker));
    // One per rule of the worker's (this one and CodeBuild's), each scoped to a rule of the stack's (an ARN osls builds with Fn::Join).
    expect(invokers).toHaveLength(2);
    for (const [, p] of invokers) expect(JSON.stringify(p.Properties.SourceArn)).toMatch(/"events".*rule/);
    expect(Object.values(stack.template.Resources).filter((r) => String(r.Type).startsWith('Custom::'))).toEqual([]);
  });

  it('creates a versioned, encrypted, private artifact bucket that notifies the artifacts function', () => {
    const [, bucket] = ofType('AWS::S3::Bucket').find(([id]) => id !== 'ServerlessDeploymentBucket') ?? [];
    expect(bucket?.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(Object.values(bucket?.Properties.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    expect(bucket?.Properties.BucketEncryption).toBeDefined();
    expect(bucket?.Properties.NotificationConfiguration.LambdaConfigurations).toEqual([
      { Event: 's3:ObjectCreated:*', Function: { 'Fn::GetAtt': ['ArtifactsLambdaFunction', 'Arn'] } },
    ]);
  });

  it('expires hook logs under the reserved prefix, and only there', () => {
    const [, bucket] = ofType('AWS::S3::Bucket').find(([id]) => id !== 'ServerlessDeploymentBucket') ?? [];
    const rules: any[] = bucket?.Properties.LifecycleConfiguration.Rules ?? [];
    const expiring = rules.filter((r) => r.ExpirationInDays !== undefined || r.NoncurrentVersionExpirationInDays !== undefined);
    expect(expiring.map((r) => r.Prefix)).toEqual([LOG_PREFIX]);
    expect(expiring[0].ExpirationInDays).toBeGreaterThan(0);
  });

  it('requires IAM authorization on every route but GET /health', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties)
      .filter((r) => r.ApiId.Ref === 'HttpApi');
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['ANY /{proxy+}', 'GET /health']);
    for (const route of routes) {
      expect(route.AuthorizationType).toBe(route.RouteKey === 'GET /health' ? undefined : 'AWS_IAM');
    }
  });

  it('declares the agent channel as a WebSocket API: IAM-authorized $connect, keep-alives answered without a function', () => {
    const [, api] = ofType('AWS::ApiGatewayV2::Api').find(([, r]) => r.Properties.ProtocolType === 'WEBSOCKET') ?? [];
    expect(api?.Properties.RouteSelectionExpression).toBe('$request.body.action');
    const routes = Object.fromEntries(
      ofType('AWS::ApiGatewayV2::Route')
        .map(([, r]) => r.Properties)
        .filter((r) => r.ApiId.Ref === 'WebsocketsApi')
        .map((r) => [r.RouteKey, r]),
    );
    expect(Object.keys(routes).sort()).toEqual(['$connect', '$disconnect', 'keepalive']);
    expect(routes.$connect.AuthorizationType).toBe('AWS_IAM');
    const [, keepalive] = ofType('AWS::ApiGatewayV2::Integration').find(([id]) => routes.keepalive.Target['Fn::Sub'].includes(id)) ?? [];
    expect(keepalive?.Properties.IntegrationType).toBe('MOCK');
  });

  it('tells agents the WebSocket API stage URL through the API function only', () => {
    const functions = Object.fromEntries(ofType('AWS::Lambda::Function'));
    // What CloudFormation makes of it is a wss:// URL, which the API's configuration accepts at cold start.
    expect(functions.ApiLambdaFunction?.Properties.Environment.Variables.CHANNEL_URL).toEqual({
      'Fn::Sub': 'wss://${WebsocketsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/test',
    });
    for (const [id, f] of Object.entries(functions)) if (id !== 'ApiLambdaFunction') expect(f.Properties.Environment.Variables.CHANNEL_URL, id).toBeUndefined();
  });

  it('deploys the keep-alive route to the stage: the stage\'s deployment waits for every WebSocket route', () => {
    const deployments = ofType('AWS::ApiGatewayV2::Deployment').filter(([, r]) => r.Properties.ApiId.Ref === 'WebsocketsApi');
    expect(deployments).toHaveLength(1);
    const [id, deployment] = deployments[0]!;
    expect(deployment.DependsOn).toEqual(expect.arrayContaining(['KeepaliveWebsocketsRoute', 'SconnectWebsocketsRoute', 'SdisconnectWebsocketsRoute']));
    expect(stack.template.Resources.WebsocketsDeploymentStage?.Properties.DeploymentId).toEqual({ Ref: id });
  });

  it('lets only the functions that push manage channel connections, and only by posting to this stage', () => {
    const statements = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      (r.Properties.Policies as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[]).flatMap((p) =>
        p.PolicyDocument.Statement.map((st) => ({ role, ...st })),
      ),
    );
    const managers = statements.filter((st) => st.Action.some((a) => a.startsWith('execute-api:Manage')));
    expect(managers.map((st) => st.role).sort()).toEqual(['ReconcileRole', 'WorkerRole']);
    for (const st of managers) {
      expect(st.Action).toEqual(['execute-api:ManageConnections']);
      expect(JSON.stringify(st.Resource)).toContain('${WebsocketsApi}/test/POST/@connections/*');
    }
  });

  it('lets the functions that move pipelines on read bundles, and the ones that push look up connections; the artifacts function only records', () => {
    const actionsOf = (role: string) =>
      new Set(
        (stack.template.Resources[role]?.Properties.Policies as { PolicyDocument: { Statement: { Action: string[] }[] } }[]).flatMap((p) =>
          p.PolicyDocument.Statement.flatMap((st) => st.Action),
        ),
      );
    // Preflight and a deploy action's revision check read appspec.yml; pushes find connections with BatchGetItem.
    for (const role of ['WorkerRole', 'ReconcileRole']) {
      expect([...actionsOf(role)], role).toEqual(expect.arrayContaining(['s3:GetObject', 's3:GetObjectVersion', 'dynamodb:BatchGetItem']));
    }
    expect([...actionsOf('ArtifactsRole')].filter((a) => a.startsWith('s3:'))).toEqual([]);
    // $disconnect reads whether the connections an instance's record lists are still open (BatchGetItem) to let one take over.
    expect([...actionsOf('ChannelRole')].filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
    ]);
  });

  it('lets the worker and the reconciler start, read and stop builds of the buildProjects projects, and no other function any build', () => {
    const statements = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      (r.Properties.Policies as { PolicyDocument: { Statement: { Effect: string; Action: string[]; Resource: unknown }[] } }[]).flatMap((p) =>
        p.PolicyDocument.Statement.map((st) => ({ role, ...st })),
      ),
    );
    const builds = statements.filter((st) => st.Action.some((a) => a.startsWith('codebuild:')));
    expect(builds.map((st) => st.role).sort()).toEqual(['ReconcileRole', 'WorkerRole']);
    for (const st of builds) {
      expect(st.Effect).toBe('Allow');
      expect(st.Action).toEqual(['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild']);
      // The default parameter: this stack's own projects, in its account and region.
      expect(st.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/fleetline-test-*' }]);
    }
  });

  it('lets a freeze lease outlast every function that may hold it, so a lease run out means its holder is dead', () => {
    // The stream worker and the reconciler both freeze targets; Lambda ends an invocation at its timeout.
    const timeouts = ['WorkerLambdaFunction', 'ReconcileLambdaFunction'].map((id) => Number(stack.template.Resources[id]?.Properties.Timeout));
    for (const timeout of timeouts) expect(timeout).toBeGreaterThan(0);
    // A margin for clock skew between the invocations that read the lease.
    expect(FREEZE_LEASE_SECONDS).toBeGreaterThanOrEqual(Math.max(...timeouts) + 20);
  });

  it('lets only the worker publish events, and only on the stack\'s bus (the default bus unless eventBus names another)', () => {
    const statements = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      (r.Properties.Policies as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[]).flatMap((p) =>
        p.PolicyDocument.Statement.map((st) => ({ role, ...st })),
      ),
    );
    const publishers = statements.filter((st) => st.Action.some((a) => a.startsWith('events:')));
    expect(publishers.map((st) => [st.role, st.Action, st.Resource])).toEqual([
      ['WorkerRole', ['events:PutEvents'], { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default' }],
    ]);
    expect(stack.template.Resources.WorkerLambdaFunction?.Properties.Environment.Variables.EVENT_BUS).toBe('default');
  });

  it('lets only the worker publish trigger notifications, and to no topic at all while triggerTopicArns is empty (the default)', () => {
    const statements = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      (r.Properties.Policies as { PolicyDocument: { Statement: { Effect: string; Action: string[]; Resource: unknown }[] } }[]).flatMap((p) =>
        p.PolicyDocument.Statement.map((st) => ({ role, ...st })),
      ),
    );
    const sns = statements.filter((st) => st.Action.some((a) => a.startsWith('sns:')));
    expect(sns.map((st) => [st.role, st.Effect, st.Action, st.Resource])).toEqual([
      ['WorkerRole', 'Deny', ['sns:Publish'], { 'Fn::Sub': 'arn:${AWS::Partition}:sns:*:*:*' }],
    ]);
    // Every function reads the same list: the API refuses a trigger on a topic the worker may not publish to.
    for (const fn of ['ApiLambdaFunction', 'WorkerLambdaFunction']) expect(stack.template.Resources[fn]?.Properties.Environment.Variables.TRIGGER_TOPIC_ARNS).toBe('');
  });

  it('runs the reconciler every minute', () => {
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression).filter(Boolean);
    expect(rules).toEqual(['rate(1 minute)']);
  });

  it("sends CodeBuild's build ends (and nothing else) to the worker, on the default bus where CodeBuild puts them", () => {
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern?.source?.includes('aws.codebuild'));
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.codebuild'],
      'detail-type': ['CodeBuild Build State Change'],
      detail: { 'build-status': ['SUCCEEDED', 'FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'] },
    });
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(JSON.stringify(rule.Properties.Targets)).toContain('WorkerLambdaFunction');
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'events.amazonaws.com');
    // The reconciler's schedule, and the worker's two rules (build ends, EC2 instances entering running).
    expect(permissions.map(([, p]) => JSON.stringify(p.Properties.FunctionName)).sort()).toEqual([
      expect.stringContaining('ReconcileLambdaFunction'),
      expect.stringContaining('WorkerLambdaFunction'),
      expect.stringContaining('WorkerLambdaFunction'),
    ]);
  });

  it('gives each function least privilege: no wildcard actions, resource * only where AWS requires it', () => {
    const statements = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      (r.Properties.Policies as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[]).flatMap((p) =>
        p.PolicyDocument.Statement.map((st) => ({ role, ...st })),
      ),
    );
    expect(statements.length).toBeGreaterThan(5);
    for (const st of statements) {
      for (const action of st.Action) expect(action, `${st.role}: ${action}`).not.toMatch(/\*/);
      if (st.Resource === '*') expect(st.Action, st.role).toEqual(['ec2:DescribeInstances']);
    }
    const assume = statements.filter((st) => st.Action.includes('sts:AssumeRole'));
    // Only the functions that resolve targets or issue credentials assume roles; the artifacts function no longer does.
    expect(assume.map((st) => st.role).sort()).toEqual(['ApiRole', 'ReconcileRole', 'WorkerRole']);
    const describers = statements.filter((st) => st.Action.includes('ec2:DescribeInstances'));
    expect(describers.map((st) => st.role).sort()).toEqual(['ReconcileRole', 'WorkerRole']);
    const streamReaders = statements.filter((st) => st.Action.some((a) => a.startsWith('dynamodb:GetRecords')));
    expect(streamReaders.map((st) => st.role)).toEqual(['WorkerRole']);
    // Roles under the Fleetline path in the credentialAccounts alone, built from the parameter: never an account wildcard.
    const inAccounts = CREDENTIAL_ACCOUNTS.map((account) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::${account}:role/fleetline/*` }));
    for (const st of assume) expect([st.role, (st as { Effect?: string }).Effect, st.Resource]).toEqual([st.role, 'Allow', inAccounts]);
    // Only the API issues credentials, so only it may tag sessions and set SourceIdentity.
    expect(statements.filter((st) => st.Action.includes('sts:TagSession')).map((st) => st.role)).toEqual(['ApiRole']);
    const logWriters = statements.filter((st) => st.Action.includes('s3:PutObject'));
    expect(logWriters.map((st) => st.role)).toEqual(['ApiRole']);
    expect(JSON.stringify(logWriters[0]?.Resource)).toContain('/fleetline-logs/*');
  });

  it('cannot switch local identity on: no function bundle contains the local principal header or dev server', async () => {
    const { default: yauzl } = await import('yauzl');
    for (const fn of FUNCTIONS) {
      const zip = await yauzl.openPromise(join(stack.dir, `${fn}.zip`));
      const text = await new Promise<string>((resolve, reject) => {
        zip.on('entry', (entry) => {
          if (!entry.fileName.endsWith('.mjs')) return zip.readEntry();
          zip.openReadStream(entry, (err, stream) => {
            if (err || !stream) return reject(err);
            const chunks: Buffer[] = [];
            stream.on('data', (c: Buffer) => chunks.push(c));
            stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          });
        });
        zip.readEntry();
      });
      zip.close();
      expect(text.length).toBeGreaterThan(1000);
      expect(text.toLowerCase()).not.toContain('x-fleetline-principal');
      expect(text).not.toContain('local-admin');
    }
  });

  it('ships each function minified, without source maps, holding only its own lazily loaded chunks, all of which load', async () => {
    for (const fn of FUNCTIONS) {
      const dir = await unzipped(fn);
      const files = listFiles(dir).map((f) => relative(dir, f));
      expect(files.filter((f) => f.endsWith('.map')), fn).toEqual([]);
      for (const other of FUNCTIONS.filter((o) => o !== fn)) {
        expect(files.filter((f) => f.startsWith(`functions/${other}.`)), `${fn} ships ${other}'s files`).toEqual([]);
      }
      const modules = files.filter((f) => f.endsWith('.mjs'));
      expect(modules).toContain(`functions/${fn}.mjs`);
      // Minified: long lines (a few license comments aside), and none of the `// path/to/module.js` markers esbuild writes between modules otherwise.
      const code = modules.map((m) => readFileSync(join(dir, m), 'utf8')).join('\n');
      const lines = code.split('\n');
      expect(code.length / lines.length, `${fn}: mean line length`).toBeGreaterThan(1000);
      expect(code, fn).not.toMatch(/^\/\/ (lib|functions|node_modules)\//m);
      // Every chunk resolves its imports: a lazily loaded client would otherwise fail only when first used in AWS.
      const script = `for (const m of ${JSON.stringify(modules.map((m) => join(dir, m)))}) await import(m); console.log('loaded');`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH, TABLE_NAME: 't-fn', ARTIFACT_BUCKET: 'fleetline-test-artifacts', AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT', ADMIN_PRINCIPALS: 'arn:aws:iam::111122223333:role/admin', AGENT_ACCOUNTS: '111122223333' },
      });
      expect(stdout.trim(), fn).toBe('loaded');
    }
  }, 60_000);

  it('keeps every function zip within 1 MB', () => {
    for (const fn of FUNCTIONS) expect(statSync(join(stack.dir, `${fn}.zip`)).size, fn).toBeLessThanOrEqual(1_048_576);
  });

  it('ships the Management API and EC2 clients only to the functions that push and resolve targets (worker, reconcile)', async () => {
    for (const fn of FUNCTIONS) {
      const dir = await unzipped(fn);
      const code = listFiles(dir)
        .filter((f) => f.endsWith('.mjs'))
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n');
      const expected = fn === 'worker' || fn === 'reconcile';
      expect(code.includes('ApiGatewayManagementApi'), `${fn} ships the Management API client`).toBe(expected);
      expect(code.includes('DescribeInstances'), `${fn} ships the EC2 client`).toBe(expected);
    }
  });

  it('leaves the appspec parser out of every cold start: it loads with the first revision check', async () => {
    const parser = 'YAMLParseError';
    for (const fn of FUNCTIONS) {
      const dir = await unzipped(fn);
      const { modules } = await probeInit(join(dir, 'functions', `${fn}.mjs`));
      expect(modules.map((m) => m.url), fn).toContainEqual(expect.stringContaining(`functions/${fn}.mjs`));
      const eager = modules.filter((m) => readFileSync(fileURLToPath(m.url), 'utf8').includes(parser));
      expect(eager.map((m) => m.url), `${fn} loads the appspec parser at cold start`).toEqual([]);
    }
    // The marker is the parser's own: the functions that check revisions ship it, as a lazily loaded chunk.
    for (const fn of ['api', 'reconcile', 'worker']) {
      const dir = await unzipped(fn);
      expect(listFiles(dir).some((f) => readFileSync(f, 'utf8').includes(parser)), fn).toBe(true);
    }
  }, 60_000);
});

type Statement = { Effect: string; Action: string[] | string; Resource: unknown };
const statementsOf = (doc: { Statement: Statement[] }) => doc.Statement.map((st) => ({ ...st, Action: [st.Action].flat() }));
/** A `!Sub` resource's text, with the stack's parts left as ${...}. */
const subs = (resource: unknown): string[] => [resource].flat().map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));

describe('the agents\' identity and the policies for people and CI (osls package)', () => {
  it('creates the agent role, trusted by EC2 only, named as AGENT_ROLE_NAMES names it, and its instance profile', () => {
    const role = stack.template.Resources.AgentRole!;
    expect(role.Type).toBe('AWS::IAM::Role');
    expect(role.Condition).toBe('CreateAgentRole');
    expect(stack.template.Conditions.CreateAgentRole).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    const names = stack.template.Resources.ApiLambdaFunction!.Properties.Environment.Variables.AGENT_ROLE_NAMES;
    expect(names).toBe('fleetline-test-agent');
    expect(role.Properties.RoleName).toEqual({ 'Fn::Select': [0, { 'Fn::Split': [',', names] }] });
    const profile = stack.template.Resources.AgentInstanceProfile!;
    expect(profile.Type).toBe('AWS::IAM::InstanceProfile');
    expect(profile.Properties.Roles).toEqual([{ Ref: 'AgentRole' }]);
  });

  it('lets an agent call the agent routes, open the channel and fetch the agent file, and nothing else', () => {
    const role = stack.template.Resources.AgentRole!;
    const statements = (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => statementsOf(p.PolicyDocument));
    expect(statements).toHaveLength(2);
    const [invoke, read] = statements;
    expect(statements.map((st) => st.Effect)).toEqual(['Allow', 'Allow']);
    expect(invoke!.Action).toEqual(['execute-api:Invoke']);
    expect(subs(invoke!.Resource)).toEqual([
      expect.stringContaining('${HttpApi}/*/POST/agent/v1/*'),
      expect.stringContaining('${WebsocketsApi}/test/$connect'),
    ]);
    // Not bundles (presigned URLs) nor logs: only the agent file the install script fetches.
    expect(read!.Action).toEqual(['s3:GetObject']);
    expect(subs(read!.Resource)).toEqual([expect.stringContaining(`fleetline-test-artifacts/${AGENT_PACKAGE_PREFIX}*`)]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('has an SSM Command document that installs the agent as user-data does, from this stack\'s bucket to its API, and lets a sender choose only a version and a checksum', () => {
    const doc = stack.template.Resources.AgentInstallDocument!;
    expect(doc.Type).toBe('AWS::SSM::Document');
    expect(doc.Properties).toMatchObject({ DocumentType: 'Command', DocumentFormat: 'JSON', TargetType: '/AWS::EC2::Instance' });
    const content = doc.Properties.Content;
    expect(Object.keys(content.parameters).sort()).toEqual(['AgentVersion', 'Sha256']);
    const accepts = (name: string, value: string) => new RegExp(content.parameters[name].allowedPattern).test(value);
    expect(content.parameters.AgentVersion.default).toBe(AGENT_VERSION);
    for (const bad of ['1.2', '1.2.3; id', '$(id)', '0.2.0\nid', '']) expect(accepts('AgentVersion', bad), JSON.stringify(bad)).toBe(false);
    expect(accepts('Sha256', '')).toBe(true);
    expect(accepts('Sha256', 'a'.repeat(64))).toBe(true);
    for (const bad of ['F'.repeat(64), 'a'.repeat(63), `${'a'.repeat(64)};id`, '"; id; "']) expect(accepts('Sha256', bad), bad).toBe(false);
    expect(content.mainSteps).toHaveLength(1);
    expect(content.mainSteps[0]).toMatchObject({ action: 'aws:runShellScript', precondition: { StringEquals: ['platformType', 'Linux'] } });
    // With the template's values and a sender's parameters filled in, the script is user-data's, byte for byte.
    const apiUrl = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
    const filled = (line: string | { 'Fn::Join': [string, unknown[]] }) =>
      typeof line === 'string'
        ? line
        : line['Fn::Join'][1].map((part) => {
            if (typeof part === 'string') return part;
            expect(part).toEqual(stack.template.Outputs.HttpApiUrl!.Value);
            return apiUrl;
          }).join('');
    const lines = (content.mainSteps[0].inputs.runCommand as Parameters<typeof filled>[0][]).map(filled);
    // The whole document is the one cli/agent-document.ts writes, its API URL slot filled with the stack's.
    const written = agentInstallDocument('fleetline-test-artifacts');
    expect({ ...content, mainSteps: [{ ...content.mainSteps[0], inputs: { ...content.mainSteps[0].inputs, runCommand: lines.map((l) => l.replaceAll(apiUrl, API_URL_SLOT)) } }] }).toEqual(written);
    const script = lines.join('\n');
    const sent = script.replaceAll('{{ AgentVersion }}', '0.3.1').replaceAll('{{ Sha256 }}', 'a'.repeat(64));
    expect(sent).toBe(userDataScript({ api: apiUrl, bucket: 'fleetline-test-artifacts', agentVersion: '0.3.1', sha256: 'a'.repeat(64), tags: [] }));
    expect(script.replaceAll('{{ AgentVersion }}', '0.3.1').replaceAll('{{ Sha256 }}', '')).toBe(userDataScript({ api: apiUrl, bucket: 'fleetline-test-artifacts', agentVersion: '0.3.1', tags: [] }));
    // The document grants nothing: no policy of the stack lets anyone (or any agent) send it, and the agent role stays as it was.
    expect(JSON.stringify(stack.template.Resources)).not.toMatch(/"ssm:/);
    expect(stack.template.Outputs.AgentInstallDocumentName?.Value).toEqual({ Ref: 'AgentInstallDocument' });
  });

  it('keeps the table and the artifact bucket (versioned) when the stack is removed or either would be replaced', () => {
    const resources = stack.template.Resources as Record<string, { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties: any }>;
    for (const id of ['FleetlineTable', 'S3BucketArtifacts']) {
      expect(resources[id], id).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    expect(resources.S3BucketArtifacts!.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(resources.FleetlineTable!.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('outputs the instance profile, the API and channel URLs, the artifact bucket and the three policies', () => {
    const outputs = stack.template.Outputs;
    expect(outputs.AgentInstanceProfileName?.Value).toEqual({ Ref: 'AgentInstanceProfile' });
    expect(outputs.AgentInstanceProfileArn?.Value).toEqual({ 'Fn::GetAtt': ['AgentInstanceProfile', 'Arn'] });
    expect(outputs.AgentInstanceProfileName?.Condition).toBe('CreateAgentRole');
    expect(outputs.HttpApiUrl).toBeDefined();
    // The URL agents are told in every poll answer, and no other.
    expect(outputs.ChannelUrl?.Value).toEqual(stack.template.Resources.ApiLambdaFunction!.Properties.Environment.Variables.CHANNEL_URL);
    expect(outputs.ArtifactBucketName?.Value).toBe('fleetline-test-artifacts');
    for (const policy of ['Viewer', 'Deployer', 'Admin']) expect(outputs[`${policy}PolicyArn`]?.Value).toEqual({ Ref: `${policy}Policy` });
  });

  it('gives people and CI managed policies with no wildcard action: the viewer reads, the deployer deploys, nobody writes hook logs', () => {
    const policies = Object.fromEntries(ofType('AWS::IAM::ManagedPolicy').map(([id, p]) => [id, statementsOf(p.Properties.PolicyDocument)]));
    expect(Object.keys(policies).sort()).toEqual(['AdminPolicy', 'DeployerPolicy', 'ViewerPolicy']);
    for (const [id, statements] of Object.entries(policies)) {
      for (const st of statements) for (const action of st.Action) expect(action, `${id}: ${action}`).not.toMatch(/\*/);
      for (const st of statements) expect(st.Resource, id).not.toBe('*');
    }
    const allowed = (id: string, prefix: string) => policies[id]!.filter((st) => st.Effect === 'Allow' && st.Action.some((a) => a.startsWith(prefix))).flatMap((st) => subs(st.Resource));
    // Read only: GET routes, no upload.
    expect(allowed('ViewerPolicy', 'execute-api:')).toEqual([expect.stringContaining('${HttpApi}/*/GET/*')]);
    expect(allowed('ViewerPolicy', 's3:')).toEqual([]);
    // The deployer may POST deployments and pipeline runs, never PUT or DELETE (groups, rules, instances).
    const deployer = allowed('DeployerPolicy', 'execute-api:');
    expect(deployer.some((r) => r.includes('/POST/deployments'))).toBe(true);
    expect(deployer.filter((r) => /\/(PUT|DELETE)\//.test(r) || r.includes('/POST/agent') || r.includes('/POST/credentials'))).toEqual([]);
    expect(allowed('AdminPolicy', 'execute-api:').some((r) => r.includes('/DELETE/*'))).toBe(true);
    for (const id of ['DeployerPolicy', 'AdminPolicy']) {
      const denied = policies[id]!.filter((st) => st.Effect === 'Deny').flatMap((st) => subs(st.Resource));
      expect(denied, id).toContainEqual(expect.stringContaining(`/${LOG_PREFIX}*`));
    }
    // The agent file every host installs is the administrators' to publish.
    const deployerDenied = policies.DeployerPolicy!.filter((st) => st.Effect === 'Deny').flatMap((st) => subs(st.Resource));
    expect(deployerDenied).toContainEqual(expect.stringContaining(`/${AGENT_PACKAGE_PREFIX}*`));
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
