import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { TriggerNotification } from '../../domain/triggers.js';
import type { TriggerPublisher } from '../../ports.js';

/**
 * Publishes a deployment group's trigger notification to its SNS topic. A FIFO topic
 * (its name ends in .fifo) gets a deduplication ID fixed by the event and the trigger, so
 * the same notification published twice (a replayed stream record) is delivered once, and
 * the deployment as the message group, so its notifications stay in order.
 */
export class SnsTriggerPublisher implements TriggerPublisher {
  constructor(private readonly client: SNSClient) {}

  async publish(notification: TriggerNotification): Promise<void> {
    const fifo = notification.topicArn.endsWith('.fifo');
    await this.client.send(
      new PublishCommand({
        TopicArn: notification.topicArn,
        Subject: notification.subject,
        Message: notification.message,
        ...(fifo ? { MessageGroupId: notification.groupId, MessageDeduplicationId: notification.deduplicationId } : {}),
      }),
    );
  }
}

/**
 * Locally there is no SNS: each notification is written to the local stack's log
 * (topic, subject and message), where whoever runs `npm start` sees what would be sent.
 */
export class LoggedTriggerPublisher implements TriggerPublisher {
  constructor(private readonly write: (line: string) => void) {}

  async publish(notification: TriggerNotification): Promise<void> {
    this.write(`SNS notification (local: recorded, not sent) to ${notification.topicArn}: ${notification.subject}\n  ${notification.message}`);
  }
}
