import type { Application } from './domain/application.js';
import type { DeploymentGroup, DeploymentGroupSettings } from './domain/deployment-group.js';
import type { RegisteredInstance } from './domain/instance.js';
import type { Tag } from './domain/tags.js';

/** Interfaces the use cases depend on; lib/adapters implements them. */

export interface PageRequest {
  limit: number;
  nextToken?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextToken?: string | undefined;
}

export interface Upserted<T> {
  created: boolean;
  value: T;
}

export interface ApplicationsRepository {
  put(name: string, description: string, now: string): Promise<Upserted<Application>>;
  get(name: string): Promise<Application | undefined>;
  list(page: PageRequest): Promise<Page<Application>>;
  /** ConflictError while the application still has deployment groups. */
  delete(name: string): Promise<void>;
}

export interface DeploymentGroupsRepository {
  /** NotFoundError when the application does not exist. */
  put(
    application: string,
    name: string,
    settings: DeploymentGroupSettings,
    now: string,
    newId: () => string,
  ): Promise<Upserted<DeploymentGroup>>;
  get(application: string, name: string): Promise<DeploymentGroup | undefined>;
  list(application: string, page: PageRequest): Promise<Page<DeploymentGroup>>;
  delete(application: string, name: string): Promise<void>;
}

export interface InstancesRepository {
  put(instanceId: string, tags: Tag[], iamArn: string | null, now: string): Promise<Upserted<RegisteredInstance>>;
  get(instanceId: string): Promise<RegisteredInstance | undefined>;
  list(page: PageRequest): Promise<Page<RegisteredInstance>>;
  delete(instanceId: string): Promise<void>;
}

export interface Clock {
  now(): Date;
}
