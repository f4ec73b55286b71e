import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { type FleetEvent, publishedSource } from '../../domain/state-events.js';
import type { EventPublisher } from '../../ports.js';

/** PutEvents takes at most 10 entries a call. */
const ENTRIES_PER_CALL = 10;

/**
 * Publishes the feed's events to an EventBridge bus (the stack's eventBus parameter,
 * the account's default bus unless set). EventBridge gives each event its own ID and
 * envelope; Fleetline sets the source, detail-type, detail, resources and time.
 */
export class EventBusPublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: FleetEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += ENTRIES_PER_CALL) {
      const chunk = events.slice(start, start + ENTRIES_PER_CALL);
      const out = await this.client.send(new PutEventsCommand({ Entries: chunk.map((event) => this.entryOf(event)) }));
      if (!out.FailedEntryCount) continue;
      const index = (out.Entries ?? []).findIndex((entry) => entry.ErrorCode !== undefined);
      const failed = chunk[index] ?? chunk[0];
      const entry = out.Entries?.[index];
      throw new Error(
        `EventBridge refused ${out.FailedEntryCount} of ${chunk.length} events on bus ${this.busName}, the first "${failed?.['detail-type']}" ${failed?.id}: ${entry?.ErrorCode ?? 'no error code'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }

  private entryOf(event: FleetEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.busName,
      Source: publishedSource(event.source),
      DetailType: event['detail-type'],
      Detail: JSON.stringify(event.detail),
      Resources: event.resources,
      Time: new Date(event.time),
    };
  }
}
