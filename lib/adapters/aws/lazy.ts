import { AdapterNotWiredError } from '../../errors.js';

/** A value built on first use, once per container (concurrent first calls share one build). */
export type Lazy<T> = () => Promise<T>;

export function lazy<T>(build: () => Promise<T>): Lazy<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** An already-built value behind the Lazy interface (tests, benches). */
export const ready =
  <T>(value: T): Lazy<T> =>
  () =>
    Promise.resolve(value);

type AsyncMethods<T> = { [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<R> : never };

/**
 * A port whose adapter (and the SDK client behind it) is imported on the first
 * call: rarely used clients stay out of a function's cold start.
 */
export function lazyPort<T extends AsyncMethods<T>>(load: () => Promise<T>): T {
  const adapter = lazy(load);
  return new Proxy({} as T, {
    get(target, method) {
      if (Reflect.has(target, method)) return Reflect.get(target, method);
      if (typeof method !== 'string' || method === 'then') return undefined;
      return async (...args: unknown[]) => {
        const instance = await adapter();
        const fn = (instance as Record<string, unknown>)[method];
        if (typeof fn !== 'function') throw new TypeError(`${method} is not a method of the loaded adapter`);
        return fn.apply(instance, args);
      };
    },
  });
}

/** A port for an adapter the function is not wired with: every call fails with AdapterNotWiredError. */
export function unwiredPort<T extends AsyncMethods<T>>(adapter: string): T {
  return lazyPort<T>(async () => {
    throw new AdapterNotWiredError(adapter);
  });
}
