import { describe, expect, it } from 'vitest';
import * as errors from '../../lib/errors.js';
import { API_ERROR_CODES, FleetlineError, GroupBusyError, NotFoundError } from '../../lib/errors.js';
import { AppspecError } from '../../lib/domain/appspec.js';

/** Error codes are the API's contract: each class names its own, and a class's name is not its code. */
describe('API error codes', () => {
  type ErrorClass = new (...args: string[]) => FleetlineError;
  const classes = ([...Object.values(errors), AppspecError] as unknown[]).filter(
    (value): value is ErrorClass => typeof value === 'function' && (value as { prototype: unknown }).prototype instanceof FleetlineError,
  );

  it('each error class answers a listed code, and every listed code but InternalError has its class', () => {
    const codes = classes.map((C) => new C('a', 'g', 'd-1').code);
    expect(codes.every((code) => API_ERROR_CODES.includes(code))).toBe(true);
    expect([...new Set(codes), 'InternalError'].sort()).toEqual([...API_ERROR_CODES].sort());
  });

  it('a class renamed or subclassed keeps its code (the name is for logs)', () => {
    class MissingWidgetError extends NotFoundError {}
    const error = new MissingWidgetError('no widget');
    expect([error.name, error.code, error.statusCode]).toEqual(['MissingWidgetError', 'NotFoundError', 404]);
    expect(new GroupBusyError('web', 'prod', 'd-1').code).toBe('ConflictError');
  });
});
