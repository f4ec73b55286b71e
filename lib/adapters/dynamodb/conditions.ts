import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * Recognising DynamoDB's failures by the SDK's exception classes, so adapters
 * can turn them into domain errors; nothing outside the adapters sees them.
 */

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/** Another transaction was changing the same items (TransactWriteItems may be retried). */
export function isTransactionConflict(error: unknown): boolean {
  return error instanceof TransactionConflictException;
}

/**
 * For a cancelled transaction, the reason code of each operation in order
 * ('None' where it was fine); undefined for any other error.
 */
export function cancellationReasons(error: unknown): string[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

/**
 * A write refused because the item would exceed 400 KB. DynamoDB says so only
 * in the text of a ValidationException (a single write) or of a cancelled
 * transaction's ValidationError reason: this is the one place that reads it.
 */
export function isItemTooLarge(error: unknown): boolean {
  const tooLarge = (text: string | undefined) => /\bitem size\b.*\bexceeded\b/i.test(text ?? '');
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some((r) => r.Code === 'ValidationError' && tooLarge(r.Message));
  }
  return error instanceof Error && error.name === 'ValidationException' && tooLarge(error.message);
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
