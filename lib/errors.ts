/**
 * Domain errors. Each maps to one HTTP status and one code; the API shows
 * `message` and `details` only for statuses below 500 and for dependency
 * errors (see lib/http/middleware/error-handler.ts).
 */
export interface ErrorDetail {
  /** JSON path of the offending value, e.g. `$.targets.ec2TagSet[0][1].type`. */
  path: string;
  message: string;
  /** Where in a source document (appspec.yml) the problem is, 1-based. */
  line?: number;
  column?: number;
}

/**
 * The codes the API answers errors with (`error.code`): part of its contract,
 * which clients switch on, so each error class names its own, and renaming a
 * class never changes what clients see. InternalError is the 500 of anything else.
 */
export const API_ERROR_CODES = [
  'ValidationError',
  'AppspecError',
  'UnauthorizedError',
  'ForbiddenError',
  'NotFoundError',
  'MethodNotAllowedError',
  'ConflictError',
  'PayloadTooLargeError',
  'UnsupportedMediaTypeError',
  'UnprocessableError',
  'ItemTooLargeError',
  'ThrottledError',
  'DependencyError',
  'DependencyNotConfiguredError',
  'InternalError',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export abstract class FleetlineError extends Error {
  abstract readonly statusCode: number;
  /** The machine-readable code clients switch on (API_ERROR_CODES). */
  abstract readonly code: ApiErrorCode;
  readonly details: ErrorDetail[];

  constructor(message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class ValidationError extends FleetlineError {
  readonly code: ApiErrorCode = 'ValidationError';
  readonly statusCode = 400;
}

export class UnauthorizedError extends FleetlineError {
  readonly code: ApiErrorCode = 'UnauthorizedError';
  readonly statusCode = 401;
}

export class ForbiddenError extends FleetlineError {
  readonly code: ApiErrorCode = 'ForbiddenError';
  readonly statusCode = 403;
}

export class NotFoundError extends FleetlineError {
  readonly code: ApiErrorCode = 'NotFoundError';
  readonly statusCode = 404;
}

export class MethodNotAllowedError extends FleetlineError {
  readonly code: ApiErrorCode = 'MethodNotAllowedError';
  readonly statusCode = 405;
}

export class ConflictError extends FleetlineError {
  readonly code: ApiErrorCode = 'ConflictError';
  readonly statusCode = 409;
}

/** The group already has an active deployment (one at a time per group). */
export class GroupBusyError extends ConflictError {
  // Clients see the HTTP conflict they already know (its code is ConflictError's).
  constructor(
    readonly application: string,
    readonly group: string,
    /** Undefined when the group is free but deployments queued for it go first. */
    readonly activeDeploymentId: string | undefined,
    queued = 0,
  ) {
    super(
      activeDeploymentId
        ? `Deployment group "${group}" already has an active deployment (${activeDeploymentId})`
        : `Deployment group "${group}" has ${queued} queued deployment(s) to start first`,
    );
  }
}

export class PayloadTooLargeError extends FleetlineError {
  readonly code: ApiErrorCode = 'PayloadTooLargeError';
  readonly statusCode = 413;
}

export class UnsupportedMediaTypeError extends FleetlineError {
  readonly code: ApiErrorCode = 'UnsupportedMediaTypeError';
  readonly statusCode = 415;
}

/** Valid JSON whose meaning cannot be honoured (unknown deployment config, …). */
export class UnprocessableError extends FleetlineError {
  readonly code: ApiErrorCode = 'UnprocessableError';
  readonly statusCode = 422;
}

/**
 * An item would exceed DynamoDB's 400 KB (raised by the adapter that wrote it):
 * what Fleetline lets one record hold was exceeded, e.g. a pipeline stored
 * before its size limits were checked.
 */
export class ItemTooLargeError extends UnprocessableError {
  override readonly code: ApiErrorCode = 'ItemTooLargeError';
}

export class ThrottledError extends FleetlineError {
  readonly code: ApiErrorCode = 'ThrottledError';
  readonly statusCode = 429;
}

/**
 * An AWS service Fleetline depends on failed (502). Its message is written by
 * Fleetline (naming the service and what to check), never the SDK's, so it is
 * shown to the caller although the status is 5xx.
 */
export class DependencyError extends FleetlineError {
  readonly code: ApiErrorCode = 'DependencyError';
  readonly statusCode = 502;
}

/** Configuration missing or invalid at cold start. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A service Fleetline depends on cannot be called as configured (no usable AWS
 * credentials, say). A 503 whose message is shown: it names what to configure,
 * never a secret or a stack trace.
 */
export class DependencyNotConfiguredError extends FleetlineError {
  readonly code: ApiErrorCode = 'DependencyNotConfiguredError';
  readonly statusCode = 503;
}

/** A function called an adapter it is not wired with (its role does not allow what the adapter does): a wiring bug. */
export class AdapterNotWiredError extends Error {
  constructor(adapter: string) {
    super(`${adapter} is not wired into this function`);
    this.name = 'AdapterNotWiredError';
  }
}
