import type { z } from 'zod';
import type { OperationId, Operations } from './operations.js';

/**
 * The request and answer types of each operation, derived from the contract
 * (operations.ts): the CLI's client and the console's are typed by them.
 */

/** What a schema takes, or nothing for a part an operation does not have. */
type InputOf<S, Absent> = [NonNullable<S>] extends [z.ZodType] ? (unknown extends z.input<NonNullable<S>> ? Absent : z.input<NonNullable<S>>) : Absent;
type Op<K extends OperationId> = Operations[K];

/** An operation's path and query parameters, in one object (path parameters fill its path template). */
export type Params<K extends OperationId> = InputOf<Op<K>['params'], object> & InputOf<Op<K>['query'], object>;
/** An operation's request body (undefined for one that takes none). */
export type Body<K extends OperationId> = InputOf<Op<K>['body'], undefined>;
/** What an operation answers on success (undefined for a 204). */
export type Answer<K extends OperationId> = {
  [S in keyof Op<K>['responses']]: Op<K>['responses'][S] extends z.ZodType ? z.output<Op<K>['responses'][S]> : undefined;
}[keyof Op<K>['responses']];
/** One item of a list operation's answer. */
export type Item<K extends OperationId> = Answer<K> extends { items: (infer T)[] } ? T : never;
