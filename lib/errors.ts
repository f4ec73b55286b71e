/**
 * Domain errors. Each maps to one HTTP status; the API shows `message` and
 * `details` only for statuses below 500 (see lib/http/error-handler.ts).
 */
export interface ErrorDetail {
  /** JSON path of the offending value, e.g. `$.targets.ec2TagSet[0][1].type`. */
  path: string;
  message: string;
  /** Where in a source document (appspec.yml) the problem is, 1-based. */
  line?: number;
  column?: number;
}

export abstract class FleetlineError extends Error {
  abstract readonly statusCode: number;
  readonly details: ErrorDetail[];

  constructor(message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }

  /** The machine-readable code clients switch on. */
  get code(): string {
    return this.name;
  }
}

export class ValidationError extends FleetlineError {
  readonly statusCode = 400;
}

export class UnauthorizedError extends FleetlineError {
  readonly statusCode = 401;
}

export class ForbiddenError extends FleetlineError {
  readonly statusCode = 403;
}

export class NotFoundError extends FleetlineError {
  readonly statusCode = 404;
}

export class MethodNotAllowedError extends FleetlineError {
  readonly statusCode = 405;
}

export class ConflictError extends FleetlineError {
  readonly statusCode = 409;
}

/** The group already has an active deployment (one at a time per group). */
export class GroupBusyError extends ConflictError {
  constructor(
    readonly application: string,
    readonly group: string,
    readonly activeDeploymentId: string,
  ) {
    super(`Deployment group "${group}" already has an active deployment (${activeDeploymentId})`);
  }

  /** Clients see the HTTP conflict they already know. */
  override get code(): string {
    return 'ConflictError';
  }
}

export class PayloadTooLargeError extends FleetlineError {
  readonly statusCode = 413;
}

export class UnsupportedMediaTypeError extends FleetlineError {
  readonly statusCode = 415;
}

/** Valid JSON whose meaning cannot be honoured (unknown deployment config, …). */
export class UnprocessableError extends FleetlineError {
  readonly statusCode = 422;
}

/**
 * An item would exceed DynamoDB's 400 KB (raised by the adapter that wrote it):
 * what Fleetline lets one record hold was exceeded, e.g. a pipeline stored
 * before its size limits were checked.
 */
export class ItemTooLargeError extends UnprocessableError {}

export class ThrottledError extends FleetlineError {
  readonly statusCode = 429;
}

/**
 * An AWS service Fleetline depends on failed (502). Its message is written by
 * Fleetline (naming the service and what to check), never the SDK's, so it is
 * shown to the caller although the status is 5xx.
 */
export class DependencyError extends FleetlineError {
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
  readonly statusCode = 503;
}

/** A function called an adapter it is not wired with (its role does not allow what the adapter does): a wiring bug. */
export class AdapterNotWiredError extends Error {
  constructor(adapter: string) {
    super(`${adapter} is not wired into this function`);
    this.name = 'AdapterNotWiredError';
  }
}
