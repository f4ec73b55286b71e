import { createHash } from 'node:crypto';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/**
 * What an idempotency token stands for: every parameter of the request except
 * the token, in a canonical form. The same token with another fingerprint is a
 * different request reusing the token, never a retry.
 */
export function requestFingerprint(parameters: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(canonical(parameters))).digest('hex');
}
