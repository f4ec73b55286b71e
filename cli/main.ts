import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Argument, Command, CommanderError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { installCommand, userDataScript } from './agent-install.js';
import { agentStateText, agentVersionText } from './agent-status.js';
import type { Answer, Body } from '../lib/api/operation-types.js';
import { ApiError, FleetlineApi, UsageError, resolveTarget } from './api.js';
import { completionScript } from './completion.js';
import { startConsoleServer } from './console-server.js';
import { followLog } from './follow-log.js';
import { type OutputFormat, fields, print, table, tags } from './output.js';
import { type DeploymentView, agentWaitText, explainFailure, followRollback, watchDeployment, watchOutput } from './progress.js';
import { type ArtifactStore, type UploadedRevision, artifactStore, removeBundle, uploadBundle } from './upload.js';
import { validateBundle } from './bundle.js';
import { printEvents } from './events.js';
import { ROLLBACK_EVENTS, type RollbackEvent } from '../lib/domain/deployment-group.js';
import { MAX_TRIGGERS, TRIGGER_EVENTS, type TriggerEvent } from '../lib/domain/triggers.js';

/** Exit codes: 0 success, 1 failed (a deployment, a check, an API refusal), 2 usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

class FailedError extends Error {}

const program = new Command('fleetline')
  .description('Fleetline: deployments, pipelines and credentials from the command line')
  .option('--api <url>', 'the Fleetline API (default: FLEETLINE_API, else the running local stack)')
  .option('--region <region>', 'the API\'s AWS region for SigV4 (default: from the URL or AWS_REGION)')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
  .showHelpAfterError()
  .exitOverride();

const globals = () => program.opts<{ api?: string; region?: string; output: OutputFormat }>();
const client = () => new FleetlineApi(resolveTarget(globals().api, globals().region));
const out = () => globals().output;

/** A JSON or YAML file (`-` for stdin), sent as the body it is for: the API checks it. */
function readDocument<T>(file: string): T {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  try {
    return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const parseTags = (list: string[]) =>
  list.flatMap((s) => s.split(',')).filter(Boolean).map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--tag "${pair}" is not key=value`);
    return { key: pair.slice(0, at), value: pair.slice(at + 1) };
  });

/**
 * A --trigger NAME:TOPIC_ARN:EVENT[,EVENT…]: the name up to the first colon, the events after
 * the last (a topic ARN holds colons, a name and event names none). Events are sent as given:
 * the API names any it does not know, and any topic it may not publish to.
 */
export function parseTrigger(spec: string): NonNullable<Body<'putGroup'>['triggerConfigurations']>[number] {
  const first = spec.indexOf(':');
  const last = spec.lastIndexOf(':');
  const events = spec.slice(last + 1).split(',').map((e) => e.trim()).filter(Boolean);
  if (first < 1 || !spec.startsWith('arn:', first + 1) || last <= first + 1 || events.length === 0) {
    throw new UsageError(`--trigger "${spec}" is not NAME:TOPIC_ARN:EVENT[,EVENT...] (e.g. ops:arn:aws:sns:eu-west-1:111122223333:deploys:DeploymentFailure,DeploymentStop)`);
  }
  return { triggerName: spec.slice(0, first), triggerTargetArn: spec.slice(first + 1, last), triggerEvents: events as TriggerEvent[] };
}

/** The item, or undefined when the API answers 404. */
async function getIfExists<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** A group as the API shows it, back into the body PUT takes (only the settings; what the API records itself left out). */
function groupBody(group: Answer<'getGroup'>): Body<'putGroup'> {
  const { targets, deploymentConfig, autoRollback, fileExistsBehavior, ignoreApplicationStopFailures, hookRoleArn, busyBehavior, outdatedInstancesStrategy, triggerConfigurations } = group;
  // hookRoleArn is sent back only when set: naming a hook role needs a grant a caller changing --config may not hold.
  return { targets, deploymentConfig, autoRollback, fileExistsBehavior, ignoreApplicationStopFailures, busyBehavior, outdatedInstancesStrategy, triggerConfigurations, ...(hookRoleArn ? { hookRoleArn } : {}) };
}

// ---- applications ----
const apps = program.command('apps').description('applications');
apps.command('list', { isDefault: true }).description('list applications').action(async () => {
  const items = await client().all('listApplications', {});
  print(out(), items, () => table(items, [{ header: 'NAME', value: (a) => a.name }, { header: 'DESCRIPTION', value: (a) => a.description }, { header: 'CREATED', value: (a) => a.createdAt }]));
});
apps.command('get <app>').description('show an application').action(async (app) => {
  const a = await client().call('getApplication', { app });
  print(out(), a, () => fields(a));
});
apps
  .command('put <app>')
  .description('create or update an application (what is not given is kept)')
  .option('--description <text>')
  .option('--revision-source <s3://bucket/prefix>', 'where its revisions may come from (repeatable; default s3://<artifact bucket>/<app>/)', collect)
  .action(async (app, o) => {
  const api = client();
  const current = await getIfExists(() => api.call('getApplication', { app }));
  const body: NonNullable<Body<'putApplication'>> = {};
  const description = o.description ?? current?.description;
  if (description !== undefined) body.description = description;
  const sources = o.revisionSource ? o.revisionSource.map(revisionSource) : current?.revisionSources;
  if (sources) body.revisionSources = sources;
  const a = await api.call('putApplication', { app }, body);
  print(out(), a, () => `application ${a.name} saved`);
});
apps.command('delete <app>').description('delete an application (it must have no groups)').action(async (app) => {
  await client().call('deleteApplication', { app });
  if (out() === 'table') console.log(`application ${app} deleted`);
});

// ---- deployment groups ----
const groups = program.command('groups').description('deployment groups of an application');
groups.command('list <app>', { isDefault: true }).description('list groups').action(async (app) => {
  const items = await client().all('listGroups', { app });
  print(out(), items, () => table(items, [
    { header: 'NAME', value: (g) => g.name },
    { header: 'CONFIG', value: (g) => (typeof g.deploymentConfig === 'string' ? g.deploymentConfig : JSON.stringify(g.deploymentConfig)) },
    { header: 'TARGETS', value: (g) => JSON.stringify(g.targets) },
  ]));
});
groups.command('get <app> <group>').description('show a group').action(async (app, group) => {
  const g = await client().call('getGroup', { app, group });
  print(out(), g, () => fields(g));
});
groups
  .command('put <app> <group>')
  .description('create or change a group: from flags (an existing group keeps what is not given) or a file (replaces it)')
  .option('-f, --file <file>', 'the group as JSON or YAML (- for stdin)')
  .option('--tag <key=value>', 'target registered instances with this tag (repeatable; OR-ed)', collect)
  .option('--ec2-tag <key=value>', 'target EC2 instances with this tag (repeatable; OR-ed)', collect)
  .option('--config <name>', 'AllAtOnce, HalfAtATime or OneAtATime')
  .addOption(new Option('--file-exists <behavior>', 'what Install does with files already there').choices(['DISALLOW', 'OVERWRITE', 'RETAIN']))
  .option('--auto-rollback [events]', `roll a failed deployment back to the last successful revision (events, comma-separated: ${ROLLBACK_EVENTS.join(', ')}; default DEPLOYMENT_FAILURE)`)
  .option('--no-auto-rollback', 'turn automatic rollback off')
  .addOption(new Option('--busy-behavior <behavior>', 'a deployment to a group that already has one running: REJECT refuses it (409), QUEUE queues it to start when the group frees').choices(['REJECT', 'QUEUE']))
  .addOption(new Option('--outdated-instances <strategy>', 'an instance that starts matching the group after its last success: UPDATE deploys that revision to it alone, IGNORE leaves it').choices(['UPDATE', 'IGNORE']))
  .option('--trigger <name:topic-arn:events>', `notify an SNS topic of the group's events, as CodeDeploy's triggers (repeatable, at most ${MAX_TRIGGERS}; replaces the group's triggers; events comma-separated: ${TRIGGER_EVENTS.join(', ')})`, collect)
  .option('--no-triggers', "remove the group's triggers")
  .action(async (app, group, o) => {
    const api = client();
    let body: Body<'putGroup'>;
    if (o.file) body = readDocument(o.file);
    else {
      const current = await getIfExists(() => api.call('getGroup', { app, group }));
      if (!current && !o.tag && !o.ec2Tag) throw new UsageError(`group ${app}/${group} does not exist yet: give -f FILE or at least one --tag / --ec2-tag`);
      body = current ? groupBody(current) : { targets: {} };
      const filters = (list: string[]) => [parseTags(list).map((t) => ({ ...t, type: 'KEY_AND_VALUE' as const }))];
      if (o.tag || o.ec2Tag) {
        body.targets = { ...body.targets, onPremisesTagSet: o.tag ? filters(o.tag) : [], ec2TagSet: o.ec2Tag ? filters(o.ec2Tag) : [] };
      }
    }
    if (o.config) body.deploymentConfig = o.config;
    if (o.fileExists) body.fileExistsBehavior = o.fileExists;
    if (o.busyBehavior) body.busyBehavior = o.busyBehavior;
    if (o.outdatedInstances) body.outdatedInstancesStrategy = o.outdatedInstances;
    if (o.triggers === false) body.triggerConfigurations = [];
    else if (o.trigger) body.triggerConfigurations = (o.trigger as string[]).map(parseTrigger);
    if (o.autoRollback === false) body.autoRollback = { enabled: false, events: [] };
    else if (o.autoRollback !== undefined) {
      // Events as given: the API names any it does not know.
      const events = (o.autoRollback === true ? ['DEPLOYMENT_FAILURE'] : String(o.autoRollback).split(',').map((e) => e.trim()).filter(Boolean)) as RollbackEvent[];
      body.autoRollback = { enabled: true, events };
    }
    const g = await api.call('putGroup', { app, group }, body);
    print(out(), g, () => `group ${app}/${g.name} saved`);
  });
groups.command('delete <app> <group>').description('delete a group').action(async (app, group) => {
  await client().call('deleteGroup', { app, group });
  if (out() === 'table') console.log(`group ${app}/${group} deleted`);
});

// ---- registered instances ----
const instances = program.command('instances').description('registered (on-premises and local) instances');
instances.command('list', { isDefault: true }).description('list instances').action(async () => {
  const items = await client().all('listInstances', {});
  print(out(), items, () =>
    table(items, [
      { header: 'INSTANCE', value: (i) => i.instanceId },
      { header: 'VERSION', value: (i) => agentVersionText(i.agent) },
      { header: 'AGENT', value: (i) => agentStateText(i.agent) },
      { header: 'TAGS', value: (i) => tags(i.tags) },
      { header: 'IAM ARN', value: (i) => i.iamArn },
    ]),
  );
});
instances.command('get <instance>').description('show an instance').action(async (id) => {
  const i = await client().call('getInstance', { instanceId: id });
  print(out(), i, () => fields({ ...i, tags: tags(i.tags), agent: agentStateText(i.agent), agentVersion: agentVersionText(i.agent) }));
});
instances
  .command('put <instance>')
  .description('register an instance or change it, from flags (what is not given is kept) or a file (replaces it)')
  .option('--tag <key=value>', 'a tag (repeatable, or comma-separated); replaces all its tags', collect)
  .option('--iam-arn <arn>', 'the principal the instance\'s agent signs as')
  .option('-f, --file <file>', 'the instance as JSON or YAML ({ tags, iamArn })')
  .action(async (id, o) => {
    // The API keeps a field left out: send only what was given.
    const body: Body<'putInstance'> = o.file ? readDocument(o.file) : { ...(o.tag ? { tags: parseTags(o.tag) } : {}), ...(o.iamArn ? { iamArn: o.iamArn } : {}) };
    const i = await client().call('putInstance', { instanceId: id }, body);
    print(out(), i, () => `instance ${i.instanceId} saved (${tags(i.tags) || 'no tags'})`);
  });
instances.command('delete <instance>').description('deregister an instance').action(async (id) => {
  await client().call('deleteInstance', { instanceId: id });
  if (out() === 'table') console.log(`instance ${id} deleted`);
});

// ---- deployments ----
/** -q: IDs alone, for $(…) in a shell; with --latest and nothing to list, an error rather than an empty ID. */
function printIds(ids: string[], what: string): void {
  if (ids.length === 0) throw new FailedError(`no ${what}`);
  for (const id of ids) console.log(id);
}

const S3_URI = /^s3:\/\/([^/]+)\/(.+?)(?:@([^@/]+))?$/;

function revisionSource(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new UsageError(`--revision-source must look like s3://bucket/prefix/, not "${uri}"`);
  return { bucket: m[1] as string, prefix: m[2] as string };
}
program
  .command('deploy')
  .description('deploy a bundle folder or file, or an S3 object, to a deployment group')
  .requiredOption('--app <app>', 'application')
  .requiredOption('--group <group>', 'deployment group')
  .option('--bundle <path>', 'a bundle folder (zipped for you) or a .zip/.tar/.tgz/.tar.gz file, uploaded to the artifact bucket')
  .option('--s3 <uri>', 'an object already in S3: s3://bucket/key[@version]')
  .option('--bucket <bucket>', 'where --bundle is uploaded (default: FLEETLINE_BUCKET, else the API\'s artifact bucket)')
  .option('--config <name>', 'deployment config for this deployment only')
  .option('--description <text>')
  .option('--wait', 'follow the deployment until it ends; exit 1 if it fails')
  .action(async (o) => {
    if (Boolean(o.bundle) === Boolean(o.s3)) throw new UsageError('give exactly one of --bundle PATH or --s3 s3://bucket/key[@version]');
    const api = client();
    let revision: Body<'createDeployment'>['revision'];
    let uploaded: { store: ArtifactStore; revision: UploadedRevision } | undefined;
    if (o.s3) {
      const m = S3_URI.exec(o.s3);
      if (!m) throw new UsageError(`--s3 must look like s3://bucket/key[@version], not "${o.s3}"`);
      revision = { bucket: m[1] as string, key: m[2] as string, ...(m[3] ? { version: m[3] } : {}) };
    } else {
      const { problems, warnings } = await validateBundle(o.bundle);
      for (const w of warnings) console.error(`warning: ${w.path}: ${w.message}`);
      if (problems.length > 0) {
        for (const p of problems) console.error(`${p.path}: ${p.message}`);
        throw new FailedError(`${o.bundle} is not a valid bundle; nothing was uploaded`);
      }
      await requireGroup(api, o.app, o.group);
      const store = await artifactStore(api, o.bucket);
      const sent = await uploadBundle(store, o.bundle, o.app, uploadProgress(basename(resolve(o.bundle))));
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
      uploaded = { store, revision: sent };
      revision = { ...sent };
      if (out() === 'table') console.log(`uploaded ${basename(resolve(o.bundle))} to s3://${revision.bucket}/${revision.key}`);
    }
    let created: Answer<'createDeployment'>;
    try {
      created = await api.call('createDeployment', {}, {
        application: o.app,
        group: o.group,
        revision,
        ...(o.config ? { deploymentConfig: o.config } : {}),
        ...(o.description ? { description: o.description } : {}),
      });
    } catch (error) {
      // Refused: the bundle just uploaded would only be left behind.
      if (uploaded) await removeBundle(uploaded.store, uploaded.revision).catch(() => undefined);
      throw error;
    }
    if (!o.wait) {
      print(out(), created, () => `${created.deploymentId} ${created.status}`);
      return;
    }
    if (out() === 'table') console.log(`deployment ${created.deploymentId} created`);
    await finishWatch(api, created.deploymentId);
  });

/**
 * Before an upload: the group must exist (a 404 names what is missing). A
 * caller who may deploy but not read groups is left to the deployment's own check.
 */
async function requireGroup(api: FleetlineApi, app: string, group: string): Promise<void> {
  try {
    await api.call('getGroup', { app, group });
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return;
    if (error instanceof ApiError && error.status === 404) throw new FailedError(`${error.message}; nothing was uploaded`);
    throw error;
  }
}

/** Upload progress on a terminal (stderr), redrawn in place: bytes sent, and a bar when the size is known. */
function uploadProgress(name: string): (sent: number, total: number | undefined) => void {
  if (!process.stderr.isTTY) return () => undefined;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return (sent, total) => {
    const shown = total
      ? `[${'#'.repeat(Math.round((20 * sent) / total)).padEnd(20, '.')}] ${mb(sent)} of ${mb(total)}`
      : `${mb(sent)} zipped and sent`;
    process.stderr.write(`\r\x1b[2Kuploading ${name} ${shown}`);
  };
}

async function finishWatch(api: FleetlineApi, deploymentId: string, label = ''): Promise<void> {
  const output = watchOutput(out());
  const ended = await watchDeployment(api, deploymentId, label, output);
  if (ended.status === 'Succeeded') {
    if (out() === 'json') console.log(JSON.stringify(ended, null, 2));
    return;
  }
  console.error(await explainFailure(api, ended));
  const rollback = await followRollback(api, ended, output);
  if (out() === 'json') console.log(JSON.stringify(rollback ? { ...ended, rolledBackBy: rollback.deploymentId, rollback } : ended, null, 2));
  if (rollback) console.error(`rollback ${rollback.deploymentId} ${rollback.status}${rollback.status === 'Succeeded' ? `: ${ended.application}/${ended.group} is back on its last successful revision` : ''}`);
  throw new FailedError('');
}

const deployments = program.command('deployments').description('deployments');
deployments
  .command('list', { isDefault: true })
  .description('list deployments, newest first')
  .option('--app <app>').option('--group <group>').option('--status <status>')
  .option('--latest', 'only the newest')
  .option('-q, --quiet', 'only the IDs, one a line (D=$(fleetline deployments list --app web --latest -q))')
  .action(async (o) => {
    const query = { application: o.app, group: o.group, status: o.status };
    const items = o.latest ? (await client().call('listDeployments', { ...query, limit: 1 })).items : await client().all('listDeployments', query);
    if (o.quiet) return printIds(items.map((d) => d.deploymentId), 'deployments');
    print(out(), items, () => table(items, [
      { header: 'DEPLOYMENT', value: (d) => d.deploymentId },
      { header: 'APP', value: (d) => d.application },
      { header: 'GROUP', value: (d) => d.group },
      { header: 'STATUS', value: (d) => d.status },
      { header: 'CREATED', value: (d) => d.createdAt },
      { header: 'REVISION', value: (d) => `s3://${d.revision?.bucket}/${d.revision?.key}` },
    ]));
  });
deployments.command('get <deployment>').description('show a deployment and its instances').option('--wait', 'follow it until it ends').action(async (id, o) => {
  const api = client();
  if (o.wait) return finishWatch(api, id);
  const d = await api.call('getDeployment', { id });
  const items = await api.all('listDeploymentInstances', { id });
  print(out(), { ...d, instances: items }, () => {
    return [fields(deploymentFields(d)), '', table(items, [
      { header: 'INSTANCE', value: (i) => i.instanceId },
      { header: 'STATUS', value: (i) => i.status },
      { header: 'LAST EVENT', value: (i) => i.lastEvent },
      { header: 'NOTE', value: (i) => agentWaitText(i) },
    ])].join('\n');
  });
});
/** What a person looks for first, in that order; the engine's own bookkeeping left out. */
function deploymentFields(d: Answer<'getDeployment'>): Record<string, unknown> {
  const config = typeof d.deploymentConfig === 'string' ? d.deploymentConfig : JSON.stringify(d.deploymentConfig);
  return {
    deploymentId: d.deploymentId,
    status: d.status,
    error: d.error?.message,
    application: d.application,
    group: d.group,
    revision: `s3://${d.revision.bucket}/${d.revision.key}${d.revision.version ? `@${d.revision.version}` : ''}`,
    counts: d.counts,
    description: d.description || undefined,
    creator: d.creator,
    createdAt: d.createdAt,
    startedAt: d.startedAt,
    completedAt: d.completedAt,
    deploymentConfig: config,
    fileExistsBehavior: d.fileExistsBehavior,
    stopRequested: d.stopRequested ? `by ${d.stopRequested.by} at ${d.stopRequested.at}${d.stopRequested.rollback ? ' (with rollback)' : ''}` : undefined,
    rollbackOf: d.rollbackOf,
    rolledBackBy: d.rolledBackBy,
    redeployOf: d.redeployOf,
    retryOf: d.retryOf,
    targetInstances: d.targetInstances?.instanceIds?.join(', '),
    pipelineExecution: d.pipelineAction?.executionId,
  };
}

deployments.command('stop <deployment>').description('stop a deployment').option('--rollback', 'roll back to the last successful revision').action(async (id, o) => {
  const d = await client().call('stopDeployment', { id }, o.rollback ? { rollback: true } : {});
  print(out(), d, () => `${d.deploymentId} ${d.status}${d.stopRequested ? ' (stop requested)' : ''}`);
});

deployments
  .command('redeploy <deployment>')
  .description("deploy that deployment's exact revision (bucket, key, version, ETag, bundle type) to its group again; the new deployment records redeployOf")
  .option('--description <text>')
  .option('--wait', 'follow it until it ends (exit 1 unless it succeeds)')
  .action(async (id, o) => {
    const api = client();
    const created = await api.call('redeployDeployment', { id }, o.description ? { description: o.description } : undefined);
    if (!o.wait) {
      print(out(), created, () => `${created.deploymentId} ${created.status} (redeploy of ${id})`);
      return;
    }
    if (out() === 'table') console.log(`deployment ${created.deploymentId} created (redeploy of ${id})`);
    await finishWatch(api, created.deploymentId);
  });

deployments
  .command('retry <deployment>')
  .description('deploy that deployment\'s exact revision again to the instances that failed, were skipped or lost their agent in it, and no other; the new deployment records retryOf')
  .requiredOption('--failed-only', 'only the instances that did not succeed (the only kind of retry there is: say it)')
  .option('--description <text>')
  .option('--wait', 'follow it until it ends (exit 1 unless it succeeds)')
  .action(async (id, o) => {
    const api = client();
    const created = await api.call('retryDeployment', { id }, { failedOnly: true, ...(o.description ? { description: o.description } : {}) });
    const instances = (created.targetInstances?.instanceIds ?? []) as string[];
    const what = `retry of ${id} on ${instances.length} instance${instances.length === 1 ? '' : 's'}: ${instances.join(', ')}`;
    if (!o.wait) {
      print(out(), created, () => `${created.deploymentId} ${created.status} (${what})`);
      return;
    }
    if (out() === 'table') console.log(`deployment ${created.deploymentId} created (${what})`);
    await finishWatch(api, created.deploymentId);
  });

program
  .command('logs <deployment> [instance]')
  .description('the full hook log of one instance, or of every instance (exit 1 when one has no full log yet); --follow shows one running instance\'s output as it is written')
  .option('-f, --follow', 'with an instance: show its hooks\' output as they write it, until the instance ends (exit 0 when it succeeded, else 1; Ctrl-C stops following, not the instance: 130)')
  .action(async (id, instance, o: { follow?: boolean }) => {
    const api = client();
    if (o.follow) {
      if (!instance) throw new UsageError('--follow needs an instance: fleetline logs <deployment> <instance> --follow');
      // Ctrl-C stops following, as it stops a --wait watch: the instance runs on.
      const onInterrupt = () => {
        console.error(`\nStopped following; ${instance} in ${id} keeps running. Its full log once it ends: fleetline logs ${id} ${instance}`);
        process.exit(130);
      };
      process.once('SIGINT', onInterrupt);
      let followed: Awaited<ReturnType<typeof followLog>>;
      try {
        followed = await followLog(api, id, instance, (text) => process.stdout.write(text), (line) => console.error(line));
      } finally {
        process.removeListener('SIGINT', onInterrupt);
      }
      const { status, streamed } = followed;
      // Nothing came live (it had ended already): the full log, as without --follow.
      if (!streamed) await printFullLog(api, id, instance);
      if (status === 'Succeeded') {
        console.error(`${instance}: Succeeded`);
        return;
      }
      const detail = await api.call('getDeploymentInstance', { id, instanceId: instance });
      const failed = detail.events?.find((e) => e.status === 'Failed');
      throw new FailedError(`${instance}: ${status}${failed ? ` at ${failed.name}${failed.errorCode ? ` (${failed.errorCode}${failed.exitCode !== undefined && failed.exitCode !== null ? `, exit code ${failed.exitCode}` : ''})` : ''}${failed.message ? `: ${failed.message}` : ''}` : ''}`);
    }
    const ids = instance ? [instance] : (await api.all('listDeploymentInstances', { id })).map((i) => i.instanceId);
    let missing = 0;
    for (const iid of ids) {
      const detail = await api.call('getDeploymentInstance', { id, instanceId: iid });
      if (!instance) console.log(`==> ${iid} (${detail.status}) <==`);
      const res = detail.logUrl ? await fetch(detail.logUrl) : undefined;
      if (res?.ok) {
        process.stdout.write(await res.text());
        continue;
      }
      // No uploaded log (the agent uploads it when the instance ends): the output tails are what there is.
      missing++;
      for (const e of detail.events) if (e.outputTail) process.stdout.write(`[${e.name}]\n${e.outputTail}`);
      const why = detail.status === 'Pending' ? 'it has not started yet'
        : detail.status === 'InProgress' ? `it is still running${detail.events.some((e) => e.outputTail) ? ' (above: the output so far)' : ''}; the agent uploads it when the instance ends`
          : detail.status === 'Skipped' ? 'it was skipped' : 'the agent has not uploaded it';
      console.error(`${iid}: no full log yet: instance ${detail.status}, ${why}. Follow it with: fleetline deployments get ${id} --wait`);
    }
    if (missing > 0) throw new FailedError('');
  });

/**
 * One ended instance's full log; the agent uploads it just after its last report, so it may take a
 * moment to appear. Without one (yet), the output tails the API keeps.
 */
async function printFullLog(api: FleetlineApi, id: string, iid: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const detail = await api.call('getDeploymentInstance', { id, instanceId: iid });
    const res = detail.logUrl ? await fetch(detail.logUrl) : undefined;
    if (res?.ok) {
      process.stdout.write(await res.text());
      return;
    }
    if (!detail.logUrl || Date.now() > deadline) {
      for (const e of detail.events ?? []) if (e.outputTail) process.stdout.write(`[${e.name}]\n${e.outputTail}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

// ---- pipelines and executions ----
const pipelines = program.command('pipelines').description('pipelines');
pipelines.command('list', { isDefault: true }).description('list pipelines').action(async () => {
  const items = await client().all('listPipelines', {});
  print(out(), items, () => table(items, [
    { header: 'NAME', value: (p) => p.name },
    { header: 'SOURCE', value: (p) => `s3://${p.source?.bucket}/${p.source?.prefix ?? ''}*${p.source?.suffix ?? ''}` },
    { header: 'STAGES', value: (p) => (p.stages ?? []).map((s) => s.name).join(' > ') },
  ]));
});
pipelines.command('get <name>').description('show a pipeline').action(async (name) => {
  const p = await client().call('getPipeline', { name });
  print(out(), p, () => JSON.stringify(p, null, 2));
});
pipelines.command('put <name>').description('create or replace a pipeline from a JSON or YAML file').requiredOption('-f, --file <file>', 'the pipeline (- for stdin)').action(async (name, o) => {
  const p = await client().call('putPipeline', { name }, readDocument(o.file));
  print(out(), p, () => `pipeline ${p.name} saved`);
});
pipelines.command('delete <name>').description('delete a pipeline').action(async (name) => {
  await client().call('deletePipeline', { name });
  if (out() === 'table') console.log(`pipeline ${name} deleted`);
});
pipelines.command('start <name>').description('start an execution with a revision').requiredOption('--s3 <uri>', 's3://bucket/key[@version]').action(async (name, o) => {
  const m = S3_URI.exec(o.s3);
  if (!m) throw new UsageError(`--s3 must look like s3://bucket/key[@version], not "${o.s3}"`);
  const e = await client().call('startExecution', { name }, { revision: { bucket: m[1] as string, key: m[2] as string, ...(m[3] ? { version: m[3] } : {}) } });
  print(out(), e, () => `${e.executionId} ${e.status ?? ''}`.trim());
});

type ExecutionView = Answer<'getExecution'>;
const stageSummary = (e: ExecutionView) => (e.stages ?? []).map((s) => `${s.name}:${s.status}`).join(' ');
const executions = program.command('executions').description('pipeline executions');
executions
  .command('list <pipeline>', { isDefault: true })
  .description('list a pipeline\'s executions, newest first')
  .option('--latest', 'only the newest')
  .option('-q, --quiet', 'only the IDs, one a line (E=$(fleetline executions list web --latest -q))')
  .action(async (name, o) => {
    const items = o.latest ? (await client().call('listExecutions', { name, limit: 1 })).items : await client().all('listExecutions', { name });
    if (o.quiet) return printIds(items.map((e) => e.executionId), `executions of pipeline ${name}`);
    print(out(), items, () => table(items, [
      { header: 'EXECUTION', value: (e) => e.executionId },
      { header: 'STATUS', value: (e) => e.status },
      { header: 'STAGES', value: stageSummary },
      { header: 'REVISION', value: (e) => e.revision?.key },
    ]));
  });

function showExecution(e: ExecutionView): string {
  const lines = [`${e.executionId} ${e.status}  (pipeline ${e.pipeline}, revision s3://${e.revision?.bucket}/${e.revision?.key})`];
  for (const s of e.stages ?? []) {
    lines.push(`  ${s.name.padEnd(12)} ${s.status}`);
    for (const a of s.actions ?? []) {
      const what = a.deploymentId ? `deploy ${a.deploymentId}` : a.buildId ? `build ${a.buildId}` : a.type ?? a.name ?? '';
      const decided = a.decision ? ` (${a.decision.approved ? 'approved' : 'rejected'} by ${a.decision.by}${a.decision.comment ? `: ${a.decision.comment}` : ''})` : '';
      // A rejection's error says what its decision already shows.
      const error = a.error && !(a.decision && !a.decision.approved) ? `: ${a.error}` : '';
      lines.push(`    ${String(what).padEnd(24)} ${a.status}${error}${decided}`);
    }
  }
  // A rejection is already shown on its action, with who and why.
  const rejected = (e.stages ?? []).some((s) => (s.actions ?? []).some((a) => a.decision && !a.decision.approved));
  if (e.error && !rejected) lines.push(`  error: ${e.error}`);
  return lines.join('\n');
}

const EXECUTION_DONE = new Set(['Succeeded', 'Failed', 'Stopped', 'Superseded']);
executions
  .command('get <execution>')
  .description('show an execution, stage by stage')
  .option('--wait', 'follow it (each deployment live) until it ends or waits for an approval')
  .action(async (id, o) => {
    const api = client();
    if (!o.wait) {
      const e = await api.call('getExecution', { id });
      print(out(), e, () => showExecution(e));
      return;
    }
    const watched = new Set<string>();
    for (;;) {
      const e = await api.call('getExecution', { id });
      const running = (e.stages ?? []).flatMap((s) => (s.actions ?? []).map((a) => ({ s, a, deploymentId: a.deploymentId })))
        .find(({ a, deploymentId }) => deploymentId && a.status === 'InProgress' && !watched.has(deploymentId));
      if (running?.deploymentId) {
        watched.add(running.deploymentId);
        await watchDeployment(api, running.deploymentId, `${running.s.name}: `);
        continue;
      }
      // Only an approval stops the wait: a deploy action that has no deployment yet is about to get one.
      const waiting = (e.stages ?? []).some((s) => (s.actions ?? []).some((a) => a.type === 'approval' && a.status === 'InProgress'));
      if (EXECUTION_DONE.has(e.status) || waiting) {
        print(out(), e, () => showExecution(e));
        if (waiting && !EXECUTION_DONE.has(e.status)) console.error(`waiting for approval: fleetline executions approve ${id}`);
        if (e.status === 'Failed' || e.status === 'Stopped') throw new FailedError('');
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
for (const verb of ['approve', 'reject'] as const) {
  executions.command(`${verb} <execution>`).description(`${verb} the approval an execution waits for`).option('--comment <text>').action(async (id, o) => {
    const e = await client().call(verb === 'approve' ? 'approveExecution' : 'rejectExecution', { id }, o.comment ? { comment: o.comment } : {});
    print(out(), e, () => verb === 'approve'
      ? `${id} approved: the pipeline goes on from here (follow it: fleetline executions get ${id} --wait)`
      : `${id} rejected: the execution ends as Failed`);
  });
}
for (const verb of ['retry', 'stop'] as const) {
  executions.command(`${verb} <execution>`).description(verb === 'retry' ? 'retry the failed stage where it failed' : 'stop an execution and its running deployment').action(async (id) => {
    const e = await client().call(verb === 'retry' ? 'retryExecution' : 'stopExecution', { id });
    print(out(), e, () => `${id} ${e.status}: ${stageSummary(e)}`);
  });
}

// ---- bundles ----
program
  .command('bundle')
  .description('bundle checks')
  .command('validate <path>')
  .description('check a bundle folder or zip as preflight would: every problem with its line, and warnings for what CodeDeploy would skip')
  .option('--strict', 'treat warnings as problems (exit 1)')
  .action(async (path, o: { strict?: boolean }) => {
    const { problems: found, warnings } = await validateBundle(path);
    const problems = o.strict ? [...found, ...warnings] : found;
    if (out() === 'json') console.log(JSON.stringify({ valid: problems.length === 0, problems, warnings: o.strict ? [] : warnings }, null, 2));
    if (out() === 'table') {
      for (const p of found) console.error(`${p.path}: ${p.message}`);
      for (const w of warnings) console.error(`${o.strict ? '' : 'warning: '}${w.path}: ${w.message}`);
    }
    if (problems.length > 0) throw new FailedError(`${path}: ${problems.length} problem(s)${o.strict && warnings.length > 0 ? ` (${warnings.length} warning(s), --strict)` : ''}`);
    if (out() === 'table') console.log(`${path}: valid${warnings.length > 0 ? `, ${warnings.length} warning(s)` : ''}`);
  });

// ---- credentials and rules ----
program
  .command('credentials')
  .description('temporary AWS credentials for a role an access rule grants you')
  .requiredOption('--role <arn>', 'the role ARN')
  .option('--duration <seconds>', 'session length (900-43200; clamped to the rule)')
  .option('--session-name <name>')
  .addOption(new Option('--format <format>', 'env: export lines; json; credential-process: for credential_process in ~/.aws/config').choices(['env', 'json', 'credential-process']).default('env'))
  .action(async (o) => {
    const duration = o.duration === undefined ? undefined : Number(o.duration);
    if (duration !== undefined && !Number.isInteger(duration)) throw new UsageError('--duration must be a whole number of seconds');
    const c = await client().call('issueCredentials', {}, { roleArn: o.role, ...(duration ? { durationSeconds: duration } : {}), ...(o.sessionName ? { sessionName: o.sessionName } : {}) });
    if (o.format === 'credential-process') {
      console.log(JSON.stringify({ Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration }));
    } else if (o.format === 'json') {
      console.log(JSON.stringify(c, null, 2));
    } else {
      console.log(`export AWS_ACCESS_KEY_ID=${c.accessKeyId}\nexport AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}\nexport AWS_SESSION_TOKEN=${c.sessionToken}\n# expires ${c.expiration}`);
    }
  });

const rules = program.command('rules').description('access rules');
rules.command('list', { isDefault: true }).description('list access rules').action(async () => {
  const items = await client().all('listAccessRules', {});
  print(out(), items, () => table(items, [
    { header: 'ID', value: (r) => r.id }, { header: 'EFFECT', value: (r) => r.effect },
    { header: 'PRINCIPALS', value: (r) => r.principals }, { header: 'ACTIONS', value: (r) => r.actions }, { header: 'RESOURCES', value: (r) => r.resources },
  ]));
});
rules.command('get <id>').description('show a rule').action(async (id) => {
  const r = await client().call('getAccessRule', { id });
  print(out(), r, () => JSON.stringify(r, null, 2));
});
rules.command('put <id>').description('create or replace a rule from a JSON or YAML file').requiredOption('-f, --file <file>').action(async (id, o) => {
  const r = await client().call('putAccessRule', { id }, readDocument(o.file));
  print(out(), r, () => `rule ${id} saved`);
});
rules.command('delete <id>').description('delete a rule').action(async (id) => {
  await client().call('deleteAccessRule', { id });
  if (out() === 'table') console.log(`rule ${id} deleted`);
});

// ---- the event feed ----
program
  .command('events')
  .description("deployment, instance and pipeline state changes as CodeDeploy's and CodePipeline's EventBridge events, oldest first")
  .option('--since <time>', 'from this time on: ISO 8601, or a duration back from now (10m, 2h, 1d)')
  .option('--type <type>', 'only one kind: deployment, instance, execution, stage or action')
  .option('--app <app>', "only this application's (CodeDeploy) events")
  .option('-f, --follow', 'keep printing new events until interrupted (Ctrl-C, which exits 0)')
  .action(async (o) => {
    // Following ends with Ctrl-C: its normal end, so it exits 0 once what it was printing is printed.
    const stop = new AbortController();
    const onInterrupt = () => stop.abort();
    if (o.follow) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, onInterrupt);
    try {
      await printEvents(client(), out(), o, stop.signal);
    } finally {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeListener(signal, onInterrupt);
    }
  });

// ---- the web console ----
program
  .command('console')
  .description('serve the web console on 127.0.0.1; it calls the API through this command, which signs each call with your AWS credentials (none reach the browser)')
  .option('--port <port>', 'the local port (0: any free one)', '8787')
  .option('--as <principal>', 'the local stack only: act as this IAM or STS principal ARN (as X-Fleetline-Principal does)')
  .addHelpText('after', '\nExamples:\n  fleetline --api https://abc123.execute-api.eu-west-1.amazonaws.com console --port 8787\n  fleetline console --as arn:aws:iam::000000000000:role/viewer\n')
  .action(async (o: { port: string; as?: string }) => {
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a TCP port number (0 for any free one), not "${o.port}"`);
    const api = new FleetlineApi({ ...resolveTarget(globals().api, globals().region), principal: o.as });
    const server = await startConsoleServer(api, port);
    console.log(`Fleetline console for ${api.target.apiUrl}: open ${server.pageUrl}\n(the address holds this run's token: keep it to yourself)\nStop with Ctrl-C.`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.stop();
  });

// ---- installing the agent ----
const agentCommand = program.command('agent').description('install the agent on hosts');
const installOptions = (o: { bucket?: string; instanceId?: string; tag?: string[]; agentVersion?: string; sha256?: string }) => {
  // The API the agent will call: --api (the program's own option) or FLEETLINE_API, never the local stack.
  const api = globals().api ?? process.env.FLEETLINE_API;
  if (!api) throw new UsageError('No API URL for the agent: pass --api (the stack output HttpApiUrl) or set FLEETLINE_API');
  const bucket = o.bucket ?? process.env.FLEETLINE_BUCKET;
  if (!bucket) throw new UsageError('No artifact bucket: pass --bucket (the stack output ArtifactBucketName) or set FLEETLINE_BUCKET');
  return { api, bucket, instanceId: o.instanceId, tags: o.tag ?? [], agentVersion: o.agentVersion, sha256: o.sha256 };
};
for (const [name, description, render] of [
  ['user-data', 'print a user-data script that installs and starts the agent (cloud-init, launch templates)', userDataScript],
  ['install-command', 'print one shell command that installs or updates the agent on a running host', installCommand],
] as const) {
  agentCommand
    .command(name)
    .description(description)
    .option('--bucket <bucket>', 'the artifact bucket holding the agent (stack output ArtifactBucketName)')
    .option('--instance-id <name>', 'an on-premises host\'s registered name (EC2 hosts read theirs from IMDS)')
    .option('--tag <key=value>', 'tags an on-premises agent asks for when it registers (repeatable)', collect)
    .option('--agent-version <version>', 'the published agent version to install (default: this CLI\'s, which its stack publishes)')
    .option('--sha256 <hex>', 'the SHA-256 the agent must have (osls deploy prints it); default: the one published beside it')
    .action((o) => {
      process.stdout.write(render(installOptions(o)));
      if (name === 'install-command') process.stdout.write('\n');
    });
}

program
  .command('completion')
  .description('print a shell completion script: eval "$(fleetline completion bash)" (or zsh)')
  .addArgument(new Argument('[shell]').choices(['bash', 'zsh']))
  .addOption(new Option('--shell <shell>', 'the same as the argument').choices(['bash', 'zsh']))
  .action((shell, o) => console.log(completionScript(program, shell ?? o.shell ?? 'bash')));

// Every command and subcommand answers --help, and a mistake shows its usage.
const configure = (c: Command) => {
  c.exitOverride().showHelpAfterError();
  c.commands.forEach(configure);
};
configure(program);

export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      console.error(`fleetline: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof ApiError) {
      console.error(`fleetline: ${error.status ? `${error.status} ${error.code}: ` : ''}${error.message}`);
      for (const d of error.details) console.error(`  ${d.path}: ${d.message}`);
      return EXIT.failed;
    }
    if (error instanceof FailedError) {
      if (error.message) console.error(`fleetline: ${error.message}`);
      return EXIT.failed;
    }
    console.error(`fleetline: ${(error as Error).message}`);
    return EXIT.failed;
  }
}

export type { DeploymentView };
