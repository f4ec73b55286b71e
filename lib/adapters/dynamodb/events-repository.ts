import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type NativeAttributeValue, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { type FleetEvent, eventTime } from '../../domain/state-events.js';
import type { EventFeed, EventFilter, Page, PageRequest, RecordedChange, StateChange } from '../../ports.js';
import { isConditionalCheckFailed } from './conditions.js';
import { toDeployment } from './deployments-repository.js';
import { toInstanceDeployment } from './instance-deployments-repository.js';
import { keys, listingPartitions } from './keys.js';
import { TTL_DAYS, expiresAt } from './ttl.js';
import { type TableClient, withoutKeys } from './table-client.js';

type Item = Record<string, NativeAttributeValue>;

/** Stream sequence numbers are decimal strings of up to 40 digits: padded, they sort as numbers. */
const SEQUENCE_WIDTH = 40;

function imageOf(image: Record<string, unknown> | undefined): Item | undefined {
  return image ? unmarshall(image as Record<string, AttributeValue>) : undefined;
}

/** The table's partition, region and account, from the stream's ARN (arn:aws:dynamodb:<region>:<account>:table/…). */
function tableOrigin(record: DynamoDBRecord) {
  const [, partition = 'aws', , region = record.awsRegion ?? '', account = ''] = (record.eventSourceARN ?? '').split(':');
  return { partition, region: region || (record.awsRegion ?? ''), account };
}

function changeIn(before: Item | undefined, after: Item): StateChange | undefined {
  switch (after.type) {
    case 'Deployment':
      return { kind: 'deployment', before: before && toDeployment(before), after: toDeployment(after) };
    case 'InstanceDeployment':
      return { kind: 'instance', before: before && toInstanceDeployment(before), after: toInstanceDeployment(after) };
    case 'Execution':
      return { kind: 'execution', before: before && withoutKeys(before), after: withoutKeys(after) };
    case 'Event':
      // Only its first write is news: a later one (none today) is not published again.
      return before ? undefined : { kind: 'event', event: after.event as FleetEvent };
    default:
      return undefined;
  }
}

/** A map's keys come back from DynamoDB in any order: the envelope is shown in AWS's. */
function inEnvelopeOrder(e: FleetEvent): FleetEvent {
  return { version: e.version, id: e.id, 'detail-type': e['detail-type'], source: e.source, account: e.account, time: e.time, region: e.region, resources: e.resources, detail: e.detail };
}

/** The feed's items: PK `EVENTS`, SK the position; an application's CodeDeploy events also in GSI1. */
export class DynamoEventFeed implements EventFeed {
  constructor(private readonly table: TableClient) {}

  changeOf(record: DynamoDBRecord): RecordedChange | undefined {
    const after = imageOf(record.dynamodb?.NewImage);
    if (!after) return undefined;
    const change = changeIn(imageOf(record.dynamodb?.OldImage), after);
    if (!change) return undefined;
    const seconds = record.dynamodb?.ApproximateCreationDateTime;
    const time = eventTime(seconds === undefined ? Date.now() : seconds * 1000);
    const sequence = (record.dynamodb?.SequenceNumber ?? '').padStart(SEQUENCE_WIDTH, '0');
    return { change, origin: { ...tableOrigin(record), time }, position: `${time}#${sequence}` };
  }

  async record(entries: { event: FleetEvent; position: string }[]): Promise<void> {
    await Promise.all(
      entries.map(async ({ event, position }) => {
        const application = 'application' in event.detail ? event.detail.application : undefined;
        try {
          await this.table.doc.send(
            new PutCommand({
              TableName: this.table.tableName,
              Item: {
                ...keys.event(position),
                ...(application ? keys.applicationEvent(application, position) : {}),
                type: 'Event',
                event,
                expiresAt: expiresAt(TTL_DAYS.event),
              },
              ConditionExpression: 'attribute_not_exists(PK)',
            }),
          );
        } catch (error) {
          // Written before (a replayed record): the event is in the feed once.
          if (!isConditionalCheckFailed(error)) throw error;
        }
      }),
    );
  }

  list(filter: EventFilter, page: PageRequest<FleetEvent>): Promise<Page<FleetEvent>> {
    const byApplication = filter.application !== undefined;
    const partition = byApplication ? keys.applicationEventPartition(filter.application as string) : listingPartitions.events;
    const [pk, sk] = byApplication ? ['GSI1PK', 'GSI1SK'] : ['PK', 'SK'];
    const since = filter.since === undefined ? {} : { ':since': filter.since };
    return this.table.queryPage(
      {
        ...(byApplication ? { IndexName: 'GSI1' } : {}),
        KeyConditionExpression: `${pk} = :p${filter.since === undefined ? '' : ` AND ${sk} >= :since`}`,
        ExpressionAttributeValues: { ':p': partition, ...since },
      },
      page,
      { attributes: byApplication ? ['PK', 'SK', 'GSI1PK', 'GSI1SK'] : ['PK', 'SK'], partition: { attribute: pk, value: partition } },
      {
        values: (items) => items.map((item) => inEnvelopeOrder(item.event as FleetEvent)),
        keep: (event) => filter.type === undefined || event['detail-type'] === filter.type,
      },
    );
  }
}
