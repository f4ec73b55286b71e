import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBusPublisher } from '../../lib/adapters/aws/event-bus-publisher.js';
import type { FleetEvent } from '../../lib/domain/state-events.js';
import type { PipelineDeps } from '../../lib/pipelines/pipeline-deps.js';
import type { EventFeed, EventPublisher } from '../../lib/ports.js';
import { createStreamHandler } from '../../lib/worker/handle-stream.js';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

function event(n: number): FleetEvent {
  return {
    version: '0',
    id: `00000000-0000-5000-8000-${String(n).padStart(12, '0')}`,
    'detail-type': 'CodeDeploy Deployment State-change Notification',
    source: 'aws.codedeploy',
    account: '123456789012',
    time: '2026-06-30T22:06:31Z',
    region: 'eu-west-1',
    resources: ['arn:aws:codedeploy:eu-west-1:123456789012:application:web'],
    detail: { application: 'web', deploymentId: `d-00000000${n % 10}`, state: 'START', deploymentGroup: 'prod', region: 'eu-west-1', instanceGroupId: 'g' },
  };
}

describe('publishing to EventBridge (PutEvents)', () => {
  const publisher = new EventBusPublisher(new EventBridgeClient({ region: 'eu-west-1' }), 'fleetline-events');

  it("puts each event on the stack's bus with AWS's detail-type and detail, under Fleetline's source (EventBridge keeps aws.* for AWS)", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    await publisher.publish([event(1)]);
    expect(eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input).toEqual({
      Entries: [
        {
          EventBusName: 'fleetline-events',
          Source: 'fleetline.codedeploy',
          DetailType: 'CodeDeploy Deployment State-change Notification',
          Detail: JSON.stringify(event(1).detail),
          Resources: ['arn:aws:codedeploy:eu-west-1:123456789012:application:web'],
          Time: new Date('2026-06-30T22:06:31Z'),
        },
      ],
    });
  });

  it('sends at most 10 entries a call', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    await publisher.publish(Array.from({ length: 23 }, (_, i) => event(i)));
    expect(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
  });

  it('throws naming the first event EventBridge refused and why, so the record is handed back', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    await expect(publisher.publish([event(1), event(2)])).rejects.toThrow(
      /EventBridge refused 1 of 2 events on bus fleetline-events, the first "CodeDeploy Deployment State-change Notification" 00000000-0000-5000-8000-000000000002: ThrottlingException Rate exceeded/,
    );
  });

  it('lets a call that fails outright (no permission on the bus) through, named by the SDK', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('AccessDeniedException: not authorized to perform events:PutEvents'));
    await expect(publisher.publish([event(1)])).rejects.toThrow(/events:PutEvents/);
  });
});

/** Stream records of newly written event items, in order. */
function records(count: number): DynamoDBRecord[] {
  return Array.from({ length: count }, (_, i) => ({ eventName: 'INSERT', dynamodb: { SequenceNumber: String(100 + i) } }));
}

/** The worker over a feed whose every record is a newly written event (the n-th record holds event n). */
function worker(publisher: EventPublisher | undefined) {
  const feed: Pick<EventFeed, 'changeOf'> = {
    changeOf: (record) => ({
      change: { kind: 'event', event: event(Number(record.dynamodb?.SequenceNumber) - 100) },
      origin: { partition: 'aws', account: '123456789012', region: 'eu-west-1', time: '2026-06-30T22:06:31Z' },
      position: 'p',
    }),
  };
  return createStreamHandler({ events: feed, publisher } as unknown as PipelineDeps);
}

describe('the worker publishing from the event items’ own stream records', () => {
  it('publishes every new event once per batch, in order, 10 at a time', async () => {
    const published: string[][] = [];
    const handle = worker({ publish: async (events) => void published.push(events.map((e) => e.id.slice(-2))) });
    expect(await handle({ Records: records(12) })).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([
      ['00', '01', '02', '03', '04', '05', '06', '07', '08', '09'],
      ['10', '11'],
    ]);
  });

  it('hands back the first record of a publish that failed, so it and all after it are published again (at least once)', async () => {
    let calls = 0;
    const handle = worker({
      publish: async () => {
        if (++calls === 2) throw new Error('EventBridge refused 1 of 2 events');
      },
    });
    expect(await handle({ Records: records(12) })).toEqual({ batchItemFailures: [{ itemIdentifier: '110' }] });
  });

  it('publishes nothing where there is no bus (locally the table is the feed)', async () => {
    expect(await worker(undefined)({ Records: records(3) })).toEqual({ batchItemFailures: [] });
  });
});
