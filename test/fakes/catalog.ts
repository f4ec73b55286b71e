import type { AccessRule } from '../../lib/domain/access.js';
import type { Application } from '../../lib/domain/application.js';
import type { RevisionSource } from '../../lib/domain/artifact-location.js';
import type { DeploymentGroup, StoredGroupSettings } from '../../lib/domain/deployment-group.js';
import type { InstanceChanges, RegisteredInstance } from '../../lib/domain/instance.js';
import { notFound } from '../../lib/domain/not-found.js';
import type { Pipeline } from '../../lib/domain/pipeline.js';
import type { Tag } from '../../lib/domain/tags.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import type {
  AccessRulesRepository,
  ApplicationsRepository,
  CredentialAuditEntry,
  CredentialAuditLog,
  DeploymentGroupsRepository,
  InstancesRepository,
  Page,
  PageRequest,
  PipelinesRepository,
  Upserted,
} from '../../lib/ports.js';
import { type FleetState, type FleetStore, groupKey } from './state.js';
import { type Meter, Refused, byKey, clone, pageOf } from './store.js';

/** Applications, groups, instances, pipelines, access rules and the credential audit: the catalog's fakes. */

export class FakeApplications implements ApplicationsRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async put(name: string, settings: { description: string; revisionSources: RevisionSource[] }, now: string): Promise<Upserted<Application>> {
    return this.store.write(this.meter, 'applications.put', (record) => {
      const found = this.store.state.applications.get(name);
      const application: Application = found
        ? { ...found.application, description: settings.description, revisionSources: settings.revisionSources, updatedAt: now }
        : { name, description: settings.description, revisionSources: settings.revisionSources, createdAt: now, updatedAt: now };
      this.store.state.applications.set(name, { application, groupCount: found?.groupCount ?? 0 });
      record({ type: 'Application', id: name, old: found?.application, new: application });
      return { created: !found, value: clone(application) };
    });
  }

  async get(name: string): Promise<Application | undefined> {
    await this.store.io(this.meter);
    return clone(this.store.state.applications.get(name)?.application);
  }

  async list(page: PageRequest<Application>): Promise<Page<Application>> {
    await this.store.io(this.meter);
    const entries = byKey([...this.store.index().applications.values()].map((a) => ({ key: a.application.name, value: clone(a.application) })));
    return pageOf(entries, 'APPS', page);
  }

  async delete(name: string): Promise<void> {
    await this.store.write(this.meter, 'applications.delete', (record) => {
      const found = this.store.state.applications.get(name);
      if (!found) throw notFound.application(name);
      if (found.groupCount !== 0) throw new ConflictError(`Application "${name}" still has ${found.groupCount} deployment group(s); delete them first`);
      this.store.state.applications.delete(name);
      record({ type: 'Application', id: name, old: found.application });
    });
  }
}

function toGroup(stored: DeploymentGroup): DeploymentGroup {
  return clone({
    application: stored.application,
    name: stored.name,
    id: stored.id,
    targets: stored.targets,
    deploymentConfig: stored.deploymentConfig,
    autoRollback: stored.autoRollback,
    fileExistsBehavior: stored.fileExistsBehavior,
    ignoreApplicationStopFailures: stored.ignoreApplicationStopFailures,
    hookRoleArn: stored.hookRoleArn ?? null,
    hookRoleSetBy: stored.hookRoleSetBy ?? null,
    busyBehavior: stored.busyBehavior ?? 'REJECT',
    outdatedInstancesStrategy: stored.outdatedInstancesStrategy ?? 'UPDATE',
    triggerConfigurations: stored.triggerConfigurations ?? [],
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  });
}

export class FakeDeploymentGroups implements DeploymentGroupsRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async put(application: string, name: string, settings: StoredGroupSettings, now: string, newId: () => string): Promise<Upserted<DeploymentGroup>> {
    const id = newId();
    return this.store.write(this.meter, 'groups.put', (record) => {
      const { applications, groups } = this.store.state;
      const key = groupKey(application, name);
      const found = groups.get(key);
      if (found) {
        const group = { ...found.group, ...clone(settings), updatedAt: now };
        groups.set(key, { ...found, group });
        record({ type: 'DeploymentGroup', id: key, old: { ...found.group, activeDeploymentId: found.activeDeploymentId }, new: { ...group, activeDeploymentId: found.activeDeploymentId } });
        return { created: false, value: toGroup(group) };
      }
      const app = applications.get(application);
      if (!app) throw notFound.application(application);
      const group: DeploymentGroup = { application, name, id, ...clone(settings), createdAt: now, updatedAt: now };
      groups.set(key, { group });
      app.groupCount++;
      record({ type: 'DeploymentGroup', id: key, new: group });
      return { created: true, value: toGroup(group) };
    }, 'idempotent');
  }

  async get(application: string, name: string): Promise<DeploymentGroup | undefined> {
    await this.store.io(this.meter);
    const found = this.store.state.groups.get(groupKey(application, name));
    return found && toGroup(found.group);
  }

  async list(application: string, page: PageRequest<DeploymentGroup>): Promise<Page<DeploymentGroup>> {
    await this.store.io(this.meter);
    const entries = byKey([...this.store.state.groups.values()].filter((g) => g.group.application === application).map((g) => ({ key: g.group.name, value: toGroup(g.group) })));
    return pageOf(entries, `APP#${application}`, page);
  }

  async delete(application: string, name: string): Promise<void> {
    await this.store.write(this.meter, 'groups.delete', (record) => {
      const { applications, groups } = this.store.state;
      const key = groupKey(application, name);
      const found = groups.get(key);
      if (!found) throw notFound.group(application, name);
      if (found.activeDeploymentId) throw new ConflictError(`Deployment group "${name}" has an active deployment (${found.activeDeploymentId}); stop it first`);
      if (found.queue?.size) throw new ConflictError(`Deployment group "${name}" has ${found.queue.size} queued deployment(s); stop them first (fleetline deployments list --group ${name} --status Queued)`);
      const app = applications.get(application);
      if (!app) throw notFound.group(application, name);
      groups.delete(key);
      app.groupCount--;
      record({ type: 'DeploymentGroup', id: key, old: found.group });
    }, 'idempotent');
  }
}

type StoredInstance = FleetState['instances'] extends Map<string, infer V> ? V : never;

function toInstance(stored: StoredInstance): RegisteredInstance {
  return clone({
    instanceId: stored.instanceId,
    tags: stored.tags ?? [],
    iamArn: stored.iamArn ?? null,
    ...(stored.requestedTags ? { requestedTags: stored.requestedTags } : {}),
    registeredAt: stored.registeredAt,
    updatedAt: stored.updatedAt,
  });
}

export class FakeInstances implements InstancesRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async put(instanceId: string, changes: InstanceChanges, now: string): Promise<Upserted<RegisteredInstance>> {
    return this.store.write(this.meter, 'instances.put', (record) => {
      const given: Partial<StoredInstance> = {};
      if (changes.tags !== undefined) Object.assign(given, { tags: clone(changes.tags), requestedTags: null });
      if (changes.iamArn !== undefined) given.iamArn = changes.iamArn;
      const found = this.store.state.instances.get(instanceId);
      const next: StoredInstance = found
        ? { ...found, ...given, updatedAt: now }
        : { instanceId, tags: [], iamArn: null, ...given, registeredAt: now, updatedAt: now };
      this.store.state.instances.set(instanceId, next);
      record({ type: 'Instance', id: instanceId, old: found, new: next });
      return { created: !found, value: toInstance(next) };
    });
  }

  async registerNew(instanceId: string, iamArn: string, requestedTags: Tag[], now: string): Promise<Upserted<RegisteredInstance>> {
    const created = await this.store.write(this.meter, 'instances.registerNew', (record) => {
      if (this.store.state.instances.has(instanceId)) throw new Refused(undefined);
      const next: StoredInstance = { instanceId, tags: [], iamArn, requestedTags: clone(requestedTags), registeredAt: now, updatedAt: now };
      this.store.state.instances.set(instanceId, next);
      record({ type: 'Instance', id: instanceId, new: next });
      return toInstance(next);
    });
    if (created) return { created: true, value: created };
    const existing = await this.get(instanceId);
    if (!existing) throw new Error(`Instance ${instanceId} was deleted while being registered`);
    return { created: false, value: existing };
  }

  async get(instanceId: string): Promise<RegisteredInstance | undefined> {
    await this.store.io(this.meter);
    const found = this.store.state.instances.get(instanceId);
    return found && toInstance(found);
  }

  async getMany(instanceIds: readonly string[]): Promise<RegisteredInstance[]> {
    await this.store.io(this.meter);
    return instanceIds.flatMap((id) => {
      const found = this.store.state.instances.get(id);
      return found ? [toInstance(found)] : [];
    });
  }

  async list(page: PageRequest<RegisteredInstance>): Promise<Page<RegisteredInstance>> {
    await this.store.io(this.meter);
    const entries = byKey([...this.store.index().instances.values()].map((i) => ({ key: i.instanceId, value: toInstance(i) })));
    return pageOf(entries, 'INSTANCES', page);
  }

  async listAll(): Promise<RegisteredInstance[]> {
    const all: RegisteredInstance[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.list({ limit: 1000, nextToken });
      all.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  async delete(instanceId: string): Promise<void> {
    await this.store.write(this.meter, 'instances.delete', (record) => {
      const found = this.store.state.instances.get(instanceId);
      if (!found) throw notFound.instance(instanceId);
      this.store.state.instances.delete(instanceId);
      record({ type: 'Instance', id: instanceId, old: found });
    });
  }
}

function toPipeline(p: Pipeline): Pipeline {
  return clone({ name: p.name, source: p.source, executionMode: p.executionMode, stages: p.stages, author: p.author, createdAt: p.createdAt, updatedAt: p.updatedAt });
}

export class FakePipelines implements PipelinesRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async put(pipeline: Omit<Pipeline, 'createdAt' | 'updatedAt'>, now: string): Promise<Upserted<Pipeline>> {
    return this.store.write(this.meter, 'pipelines.put', (record) => {
      const found = this.store.state.pipelines.get(pipeline.name);
      const { name, source, executionMode, stages, author } = clone(pipeline);
      const next: Pipeline = { ...(found ?? { createdAt: now }), name, source, executionMode, stages, author, updatedAt: now } as Pipeline;
      this.store.state.pipelines.set(name, next);
      record({ type: 'Pipeline', id: name, old: found, new: next });
      return { created: !found, value: toPipeline(next) };
    });
  }

  async get(name: string): Promise<Pipeline | undefined> {
    await this.store.io(this.meter);
    const found = this.store.state.pipelines.get(name);
    return found && toPipeline(found);
  }

  async list(page: PageRequest<Pipeline>): Promise<Page<Pipeline>> {
    await this.store.io(this.meter);
    return pageOf(byKey([...this.store.index().pipelines.values()].map((p) => ({ key: p.name, value: toPipeline(p) }))), 'PIPELINES', page);
  }

  async bySourceBucket(bucket: string): Promise<Pipeline[]> {
    await this.store.io(this.meter);
    const names = [...this.store.index().pipelines.values()].filter((p) => p.source.bucket === bucket).map((p) => p.name).sort();
    const found = names.map((n) => this.store.state.pipelines.get(n));
    return found.filter((p): p is Pipeline => p !== undefined && p.source.bucket === bucket).map(toPipeline);
  }

  async delete(name: string): Promise<void> {
    await this.store.write(this.meter, 'pipelines.delete', (record) => {
      const found = this.store.state.pipelines.get(name);
      if (!found) throw notFound.pipeline(name);
      this.store.state.pipelines.delete(name);
      record({ type: 'Pipeline', id: name, old: found });
    });
  }
}

export class FakeAccessRules implements AccessRulesRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async put(rule: AccessRule): Promise<boolean> {
    const existed = await this.get(rule.id);
    await this.store.write(this.meter, 'accessRules.put', (record) => {
      this.store.state.accessRules.set(rule.id, clone(rule));
      record({ type: 'AccessRule', id: rule.id, new: rule });
    });
    return !existed;
  }

  async get(id: string): Promise<AccessRule | undefined> {
    await this.store.io(this.meter);
    return clone(this.store.state.accessRules.get(id));
  }

  async list(): Promise<AccessRule[]> {
    await this.store.io(this.meter);
    return [...this.store.state.accessRules.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map(clone);
  }

  async delete(id: string): Promise<void> {
    await this.store.write(this.meter, 'accessRules.delete', (record) => {
      const found = this.store.state.accessRules.get(id);
      if (!found) throw new NotFoundError(`Access rule "${id}" does not exist`);
      this.store.state.accessRules.delete(id);
      record({ type: 'AccessRule', id, old: found });
    });
  }
}

const AUDIT_RETENTION_SECONDS = 90 * 24 * 3600;

export class FakeCredentialAudit implements CredentialAuditLog {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async record(entry: CredentialAuditEntry): Promise<void> {
    await this.store.write(this.meter, 'audit.record', (record) => {
      const stored = { ...clone(entry), expiresAt: Math.floor(Date.parse(entry.issuedAt) / 1000) + AUDIT_RETENTION_SECONDS };
      this.store.state.audit.set(`${entry.issuedAt}#${entry.id}`, stored);
      record({ type: 'CredentialAudit', id: entry.id, new: stored });
    }, 'idempotent');
  }

  async list(page: PageRequest): Promise<Page<CredentialAuditEntry>> {
    await this.store.io(this.meter);
    const entries = byKey(
      [...this.store.state.audit.entries()].map(([key, { expiresAt: _ttl, ...entry }]) => ({ key, value: clone(entry) as CredentialAuditEntry })),
      'desc',
    );
    return pageOf(entries, 'CREDENTIAL_AUDIT', page, 'desc');
  }
}
