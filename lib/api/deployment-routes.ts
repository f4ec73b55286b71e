import { type Deployment, MAX_TARGET_INSTANCES, RETRIED_INSTANCE_STATUSES } from '../domain/deployment.js';
import { isDeploymentFinished } from '../domain/lifecycle.js';
import { createDeployment } from '../deployments/create-deployment.js';
import { stopDeployment } from '../deployments/stop-deployment.js';
import { readLiveLog } from '../deployments/live-log.js';
import { liveLogAnswerSchema } from '../domain/live-log.js';
import { notFound } from '../domain/not-found.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors.js';
import { checkRevision } from '../revisions/check-revision.js';
import { agentStatuses } from './agent-statuses.js';
import { type ApiDeps, deploymentResource, route } from './deps.js';
import { operations } from './operations.js';


async function requireDeployment(deps: ApiDeps, id: string) {
  const deployment = await deps.deployments.get(id);
  if (!deployment) throw notFound.deployment(id);
  return deployment;
}

const deploymentAccess = (action: string) => ({
  action,
  resource: ({ params, deps }: { params: { id: string }; deps: ApiDeps }) => deploymentResource(deps, params.id),
  missing: ({ params }: { params: { id: string } }) => notFound.deployment(params.id),
});

export const deploymentRoutes = [
  route(operations.createDeployment, {
    access: { action: 'deployments:create', resource: ({ body }) => `application/${body.application}/group/${body.group}` },
    async handle({ body, principal, deps }) {
      // A retry is answered from its token first; then, before anything is written, the
      // object must exist and hold a valid appspec.yml, else 422.
      const result = await createDeployment(body, principal, deps, (revision) => checkRevision(revision, deps));
      return { statusCode: result.created ? 201 : 200, body: { deploymentId: result.deploymentId, status: result.status } };
    },
  }),
  route(operations.redeployDeployment, {
    // Deploying is the act governed; reading the original is checked too, and a caller refused it
    // (but holding some grant to read deployments) gets the answer for a missing one.
    access: deploymentAccess('deployments:create'),
    async handle({ params, body, principal, deps }) {
      const original = await requireDeployment(deps, params.id);
      const target = `application/${original.application}/group/${original.group}`;
      await deps.authorizer.authorize(principal, 'deployments:get', target, `deployment/${params.id}`, () => notFound.deployment(params.id));
      // The object exactly as the original pinned it; the check runs again, as for any new deployment.
      const { bucket, key, version, eTag, bundleType } = original.revision;
      const result = await createDeployment(
        { ...body, application: original.application, group: original.group, revision: { bucket, key, version, eTag, bundleType }, redeployOf: original.deploymentId },
        principal,
        deps,
        (revision) => checkRevision(revision, deps),
      );
      return { statusCode: result.created ? 201 : 200, body: { deploymentId: result.deploymentId, status: result.status, redeployOf: original.deploymentId } };
    },
  }),
  route(operations.retryDeployment, {
    // As a redeploy: deploying is the act governed, and the original must be readable.
    access: deploymentAccess('deployments:create'),
    async handle({ params, body, principal, deps }) {
      const original = await requireDeployment(deps, params.id);
      const target = `application/${original.application}/group/${original.group}`;
      await deps.authorizer.authorize(principal, 'deployments:get', target, `deployment/${params.id}`, () => notFound.deployment(params.id));
      const instanceIds = await instancesToRetry(original, deps);
      const { bucket, key, version, eTag, bundleType } = original.revision;
      const { failedOnly: _always, ...rest } = body;
      const result = await createDeployment(
        {
          ...rest,
          application: original.application,
          group: original.group,
          revision: { bucket, key, version, eTag, bundleType },
          targetInstances: { instanceIds },
          retryOf: original.deploymentId,
        },
        principal,
        deps,
        (revision) => checkRevision(revision, deps),
      );
      return { statusCode: result.created ? 201 : 200, body: { deploymentId: result.deploymentId, status: result.status, retryOf: original.deploymentId, targetInstances: { instanceIds } } };
    },
  }),
  route(operations.listDeployments, {
    access: { action: 'deployments:list', list: true },
    async handle({ query, deps, visible }) {
      const { limit, nextToken, ...filter } = query;
      const page = await deps.deployments.list(filter, { limit, nextToken, visible: (d) => visible(`application/${d.application}/group/${d.group}`) });
      // Nothing to show at all for an application or group: to a caller who may not list all of its
      // deployments, that is what a missing one looks like; to one who may, it is missing only if it is.
      if (page.items.length === 0 && !nextToken && filter.application) {
        const { application, group } = filter;
        if (!visible(`application/${application}/group/${group ?? '*'}`)) throw group ? notFound.group(application, group) : notFound.application(application);
        if (!(await deps.applications.get(application))) throw notFound.application(application);
        if (group && !(await deps.groups.get(application, group))) throw notFound.group(application, group);
      }
      return { statusCode: 200, body: page };
    },
  }),
  route(operations.getDeployment, {
    access: deploymentAccess('deployments:get'),
    async handle({ params, deps }) {
      return { statusCode: 200, body: await requireDeployment(deps, params.id) };
    },
  }),
  route(operations.listDeploymentInstances, {
    access: deploymentAccess('deployments:get'),
    async handle({ params, query, deps }) {
      await requireDeployment(deps, params.id);
      const page = await deps.instanceDeployments.list(params.id, query);
      // Work waiting on its agent shows whether that agent is there ("agent offline since …").
      const agents = await agentStatuses(page.items.filter((i) => i.status === 'InProgress').map((i) => i.instanceId), deps);
      const items = page.items.map(({ events, watchAt: _internal, ...instance }) => ({
        ...instance,
        lastEvent: [...events].reverse().find((e) => e.status !== 'Pending' && e.status !== 'Skipped')?.name ?? null,
        ...(agents.has(instance.instanceId) ? { agent: agents.get(instance.instanceId) } : {}),
      }));
      return { statusCode: 200, body: { items, nextToken: page.nextToken } };
    },
  }),
  route(operations.getDeploymentInstance, {
    access: deploymentAccess('deployments:get'),
    async handle({ params, deps }) {
      const instance = await deps.instanceDeployments.get(params.id, params.instanceId);
      if (!instance) throw new NotFoundError(`Instance ${params.instanceId} is not a target of deployment ${params.id}`);
      const started = instance.status !== 'Pending' && instance.status !== 'Skipped';
      const [logUrl, outputs] = await Promise.all([
        started ? deps.bundles.logDownloadUrl(params.id, params.instanceId) : null,
        deps.instanceDeployments.outputs(params.id, params.instanceId),
      ]);
      const events = instance.events.map((e) => (outputs[e.name] ? { ...e, outputTail: outputs[e.name] } : e));
      const { watchAt: _internal, ...shown } = instance;
      return { statusCode: 200, body: { ...shown, events, logUrl } };
    },
  }),
  route(operations.getDeploymentInstanceLog, {
    // Following is reading the log: the same grant as the full log's link.
    access: deploymentAccess('deployments:get'),
    async handle({ params, query, deps }) {
      const answer = await readLiveLog(params.id, params.instanceId, { cursor: query.cursor, follow: query.follow === 'true' }, deps);
      // A follower's read that found nothing new is routine (logged at DEBUG): it comes twice a second.
      return { statusCode: 200, body: liveLogAnswerSchema.parse(answer), routine: answer.chunks.length === 0 && !answer.ended };
    },
  }),
  route(operations.stopDeployment, {
    access: deploymentAccess('deployments:stop'),
    async handle({ params, body, principal, deps }) {
      const deployment = await stopDeployment(params.id, { rollback: body.rollback, by: principal }, deps);
      return { statusCode: 202, body: deployment };
    },
  }),
];

/** The instances an ended deployment did not deploy to (failed, skipped, agent lost), in ID order; refused when there are none or too many. */
async function instancesToRetry(original: Deployment, deps: ApiDeps): Promise<string[]> {
  const id = original.deploymentId;
  if (!isDeploymentFinished(original.status)) {
    throw new ConflictError(`Deployment ${id} is ${original.status}: retry it once it has ended (or stop it: fleetline deployments stop ${id})`);
  }
  const found = await deps.instanceDeployments.failedInstances(id, MAX_TARGET_INSTANCES + 1, RETRIED_INSTANCE_STATUSES);
  if (found.length === 0) {
    throw new UnprocessableError(`Deployment ${id} has no instance that failed, was skipped or lost its agent: there is nothing to retry (${original.status}, ${original.counts.succeeded} succeeded)`);
  }
  if (found.length > MAX_TARGET_INSTANCES) {
    throw new UnprocessableError(`Deployment ${id} has more than ${MAX_TARGET_INSTANCES} instances to retry, more than one deployment may name: redeploy it to the whole group instead (POST /deployments/${id}/redeploy)`);
  }
  return found.map((i) => i.instanceId).sort();
}
