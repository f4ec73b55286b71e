import { effectiveRevisionSources } from '../domain/application.js';
import { describeSources, sourceWithin } from '../domain/artifact-location.js';
import { matchesSource, normalizePipeline } from '../domain/pipeline.js';
import { notFound } from '../domain/not-found.js';
import { ConflictError, UnprocessableError } from '../errors.js';
import { newManualExecutionId, requireExecution, startExecution } from '../pipelines/execution-engine.js';
import { decideApproval, retryExecution, stopExecution } from '../pipelines/execution-commands.js';
import { assertMayDeployEverywhere } from '../pipelines/pipeline-authority.js';
import { type ApiDeps, executionResource, route } from './deps.js';
import { operations } from './operations.js';


async function requirePipeline(deps: ApiDeps, name: string) {
  const pipeline = await deps.pipelines.get(name);
  if (!pipeline) throw notFound.pipeline(name);
  return pipeline;
}

const pipelineAccess = (action: string) => ({
  action,
  resource: ({ params }: { params: { name: string } }) => `pipeline/${params.name}`,
  missing: ({ params }: { params: { name: string } }) => notFound.pipeline(params.name),
});

const executionAccess = (action: string) => ({
  action,
  resource: ({ params, deps }: { params: { id: string }; deps: ApiDeps }) => executionResource(deps, params.id),
  missing: ({ params }: { params: { id: string } }) => notFound.execution(params.id),
});

/** Every deploy action names an existing group of an application that takes revisions from the pipeline's source. */
async function assertDeployTargets(definition: ReturnType<typeof normalizePipeline>, deps: ApiDeps): Promise<void> {
  const problems: { path: string; message: string }[] = [];
  for (const [s, stage] of definition.stages.entries()) {
    for (const [a, action] of stage.actions.entries()) {
      if (action.type !== 'deploy') continue;
      const path = `$.stages[${s}].actions[${a}]`;
      const [group, application] = await Promise.all([deps.groups.get(action.application, action.group), deps.applications.get(action.application)]);
      if (!group || !application) {
        problems.push({ path, message: `deployment group ${action.application}/${action.group} does not exist` });
        continue;
      }
      const sources = effectiveRevisionSources(application, deps.artifactBucket);
      if (!sourceWithin(definition.source, sources)) {
        problems.push({
          path,
          message: `application ${action.application} takes revisions only from ${describeSources(sources)}; the source s3://${definition.source.bucket}/${definition.source.prefix}* is outside them`,
        });
      }
    }
  }
  if (problems.length > 0) throw new UnprocessableError('The pipeline deploys where its revisions cannot go', problems);
}

export const pipelineRoutes = [
  route(operations.putPipeline, {
    access: { action: 'pipelines:put', resource: ({ params }) => `pipeline/${params.name}` },
    async handle({ params, body, principal, deps }) {
      const definition = normalizePipeline(body);
      await assertMayDeployEverywhere(principal, definition.stages, deps);
      await assertDeployTargets(definition, deps);
      const { created, value } = await deps.pipelines.put({ name: params.name, ...definition, author: principal }, deps.clock.now().toISOString());
      return { statusCode: created ? 201 : 200, body: value };
    },
  }),
  route(operations.listPipelines, {
    access: { action: 'pipelines:list', list: true },
    async handle({ query, deps, visible }) {
      return { statusCode: 200, body: await deps.pipelines.list({ ...query, visible: (p) => visible(`pipeline/${p.name}`) }) };
    },
  }),
  route(operations.getPipeline, {
    access: pipelineAccess('pipelines:get'),
    async handle({ params, deps }) {
      return { statusCode: 200, body: await requirePipeline(deps, params.name) };
    },
  }),
  route(operations.deletePipeline, {
    access: pipelineAccess('pipelines:delete'),
    async handle({ params, deps }) {
      const running = (await deps.executions.listActive()).filter((e) => e.pipeline === params.name);
      if (running.length > 0) {
        throw new ConflictError(`Pipeline "${params.name}" has ${running.length} execution(s) in progress; stop them first`);
      }
      await deps.pipelines.delete(params.name);
      return { statusCode: 204 };
    },
  }),
  route(operations.startExecution, {
    access: pipelineAccess('pipelines:start'),
    async handle({ params, body, principal, deps }) {
      const pipeline = await requirePipeline(deps, params.name);
      // A manual start deploys what an upload could have: the caller picks the object, not where it may come from.
      if (!matchesSource(pipeline, body.revision.bucket, body.revision.key)) {
        const { bucket, prefix, suffix } = pipeline.source;
        const message = `must be an object the pipeline's source matches: s3://${bucket}/${prefix}*${suffix}`;
        throw new UnprocessableError(`s3://${body.revision.bucket}/${body.revision.key} is outside pipeline "${pipeline.name}"'s source`, [{ path: '$.revision', message }]);
      }
      const { executionId } = await startExecution(pipeline, body.revision, { type: 'Manual', by: principal }, newManualExecutionId(), deps);
      const execution = await requireExecution(executionId, deps);
      return { statusCode: 201, body: { executionId, status: execution.status } };
    },
  }),
  route(operations.listExecutions, {
    access: pipelineAccess('pipelines:get'),
    async handle({ params, query, deps }) {
      await requirePipeline(deps, params.name);
      return { statusCode: 200, body: await deps.executions.listByPipeline(params.name, query) };
    },
  }),
  route(operations.getExecution, {
    access: executionAccess('pipelines:get'),
    async handle({ params, deps }) {
      return { statusCode: 200, body: await requireExecution(params.id, deps) };
    },
  }),
  route(operations.approveExecution, {
    access: executionAccess('pipelines:approve'),
    async handle({ params, body, principal, deps }) {
      return { statusCode: 200, body: await decideApproval(params.id, { approved: true, by: principal, comment: body.comment }, deps) };
    },
  }),
  route(operations.rejectExecution, {
    access: executionAccess('pipelines:approve'),
    async handle({ params, body, principal, deps }) {
      return { statusCode: 200, body: await decideApproval(params.id, { approved: false, by: principal, comment: body.comment }, deps) };
    },
  }),
  route(operations.stopExecution, {
    access: executionAccess('pipelines:stop'),
    async handle({ params, principal, deps }) {
      return { statusCode: 200, body: await stopExecution(params.id, principal, deps) };
    },
  }),
  route(operations.retryExecution, {
    access: executionAccess('pipelines:retry'),
    async handle({ params, deps }) {
      return { statusCode: 200, body: await retryExecution(params.id, deps) };
    },
  }),
];
