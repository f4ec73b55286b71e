/**
 * Every key of the single table is built here (access patterns: docs/data-model.md).
 * Names cannot contain '#' (see lib/domain/names.ts), so the separators are unambiguous.
 */
export interface TableKey {
  PK: string;
  SK: string;
}

export const keys = {
  application: (app: string): TableKey => ({ PK: `APP#${app}`, SK: 'APP' }),
  /** GSI1: all applications, by name. */
  applicationListing: (app: string) => ({ GSI1PK: 'APPS', GSI1SK: app }),

  group: (app: string, group: string): TableKey => ({ PK: `APP#${app}`, SK: `GROUP#${group}` }),
  groupPartition: (app: string) => ({ PK: `APP#${app}`, skPrefix: 'GROUP#' }),

  instance: (instanceId: string): TableKey => ({ PK: `INSTANCE#${instanceId}`, SK: 'INSTANCE' }),
  /** GSI1: all registered instances, by ID (target resolution reads this). */
  instanceListing: (instanceId: string) => ({ GSI1PK: 'INSTANCES', GSI1SK: instanceId }),
} as const;

export const listingPartitions = {
  applications: 'APPS',
  instances: 'INSTANCES',
} as const;

/** Attributes that belong to the table, not to the domain object. */
export const KEY_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'type', 'expiresAt'] as const;
