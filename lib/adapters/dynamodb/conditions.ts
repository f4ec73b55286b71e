import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** Recognising DynamoDB's conditional-write failures, so adapters can turn them into domain errors. */

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * For a cancelled transaction, the reason code of each operation in order
 * ('None' where it was fine); undefined for any other error.
 */
export function cancellationReasons(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((r) => r.Code ?? 'None');
}

/** The item a failed condition saw (ReturnValuesOnConditionCheckFailure: ALL_OLD), if any. */
export function itemOnConditionFailure(error: unknown): Record<string, NativeAttributeValue> | undefined {
  const raw = (error as { Item?: Record<string, AttributeValue> }).Item;
  return raw ? unmarshall(raw) : undefined;
}

/** In a cancelled transaction, the item operation `index` saw (with ReturnValuesOnConditionCheckFailure: ALL_OLD). */
export function cancelledItem(error: unknown, index: number): Record<string, NativeAttributeValue> | undefined {
  const raw = (error as { CancellationReasons?: { Item?: Record<string, AttributeValue> }[] }).CancellationReasons?.[index]?.Item;
  return raw ? unmarshall(raw) : undefined;
}
