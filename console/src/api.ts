import type { Answer, Body, Item, Params } from '../../lib/api/operation-types.js';
import type { OperationId } from '../../lib/api/operations.js';

/** Each operation's method and path template, from the contract (injected by console/build.ts). */
declare const FLEETLINE_ROUTES: Record<OperationId, [method: string, path: string]>;

/** The API said no: its status, code and message (the message is for the person). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Calls one operation of the API the console is served beside (same origin: the
 * local dev server, or `fleetline console`, which signs each call): path
 * parameters fill the template, the others become the query.
 */
export async function call<K extends OperationId>(operation: K, params: Params<K>, ...body: Body<K> extends undefined ? [] : [Body<K>]): Promise<Answer<K>> {
  const [method, template] = FLEETLINE_ROUTES[operation];
  const query = new URLSearchParams();
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String((params as Record<string, unknown>)[name])));
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (value !== undefined && !template.includes(`{${name}}`)) query.set(name, String(value));
  }
  const response = await fetch(`..${path}${query.size > 0 ? `?${query}` : ''}`, {
    method,
    // The local API refuses a write without a JSON content type (a page elsewhere could forge it), even with no body.
    headers: { accept: 'application/json', ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
    ...(body.length > 0 ? { body: JSON.stringify(body[0]) } : {}),
  });
  const answer = response.status === 204 ? undefined : await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = (answer as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? 'Error', error?.message ?? `${method} ${path} answered ${response.status}`);
  }
  return answer as Answer<K>;
}

/** Every item of a list operation, page after page (up to `max`). */
export async function all<K extends OperationId>(operation: K, params: Params<K>, max = 1000): Promise<Item<K>[]> {
  const items: Item<K>[] = [];
  let nextToken: string | undefined;
  do {
    const withToken = { ...(params as object), ...(nextToken ? { nextToken } : {}) } as Params<K>;
    const page = (await call(operation, withToken, ...([] as never))) as { items: Item<K>[]; nextToken?: string };
    items.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken && items.length < max);
  return items;
}
