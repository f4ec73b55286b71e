import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CredentialAuditEntry, CredentialAuditLog, Page, PageRequest } from '../../ports.js';
import { keys } from './keys.js';
import { type TableClient, withoutKeys } from './table-client.js';

const RETENTION_SECONDS = 90 * 24 * 3600;

export class DynamoCredentialAuditLog implements CredentialAuditLog {
  constructor(private readonly table: TableClient) {}

  async record(entry: CredentialAuditEntry): Promise<void> {
    await this.table.doc.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          ...keys.credentialAudit(entry.issuedAt, entry.id),
          type: 'CredentialAudit',
          ...entry,
          expiresAt: Math.floor(Date.parse(entry.issuedAt) / 1000) + RETENTION_SECONDS,
        },
      }),
    );
  }

  async list(page: PageRequest): Promise<Page<CredentialAuditEntry>> {
    const { PK } = keys.credentialAudit('', '');
    return this.table.queryPage(
      { KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': PK }, ScanIndexForward: false },
      page,
      { attributes: ['PK', 'SK'], partition: { attribute: 'PK', value: PK } },
      { values: (items) => items.map((i) => withoutKeys<CredentialAuditEntry>(i)) },
    );
  }
}
