import type { Answer, Body, Item, Params } from '../../lib/api/operation-types.js';
import { ApiError } from '../../lib/api/client-error.js';
import { CONSOLE_TOKEN_HEADER, type ConsoleOperation } from '../../lib/api/console-operations.js';

/** Each operation's method and path template, from the contract (injected by console/build.ts). */
declare const FLEETLINE_ROUTES: Record<ConsoleOperation, [method: string, path: string]>;

/**
 * `fleetline console` prints the page's address with a token (?token=…) that
 * every call must carry: kept for this tab, and taken out of the address bar.
 */
const token = (() => {
  const query = new URLSearchParams(location.search);
  const given = query.get('token');
  if (given) {
    sessionStorage.setItem('fleetline-console-token', given);
    history.replaceState(null, '', `${location.pathname}${location.hash}`);
  }
  return given ?? sessionStorage.getItem('fleetline-console-token');
})();

export { ApiError };

/**
 * Calls one operation of the API the console is served beside (same origin: the
 * local dev server, or `fleetline console`, which signs each call): path
 * parameters fill the template, the others become the query.
 */
export async function call<K extends ConsoleOperation>(operation: K, params: Params<K>, ...body: Body<K> extends undefined ? [] : [Body<K>]): Promise<Answer<K>> {
  const [method, template] = FLEETLINE_ROUTES[operation];
  const query = new URLSearchParams();
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String((params as Record<string, unknown>)[name])));
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (value !== undefined && !template.includes(`{${name}}`)) query.set(name, String(value));
  }
  const response = await fetch(`..${path}${query.size > 0 ? `?${query}` : ''}`, {
    method,
    // The local API refuses a write without a JSON content type (a page elsewhere could forge it), even with no body.
    headers: {
      accept: 'application/json',
      ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
      ...(token ? { [CONSOLE_TOKEN_HEADER]: token } : {}),
    },
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
export async function all<K extends ConsoleOperation>(operation: K, params: Params<K>, max = 1000): Promise<Item<K>[]> {
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

/**
 * The first item of a filtered list: the API filters after it reads, so a page
 * may come back empty with a token to read on (up to `pages` of them).
 */
export async function first<K extends ConsoleOperation>(operation: K, params: Params<K>, pages = 20): Promise<Item<K> | undefined> {
  let nextToken: string | undefined;
  for (let page = 0; page < pages; page++) {
    const withToken = { ...(params as object), ...(nextToken ? { nextToken } : {}) } as Params<K>;
    const answer = (await call(operation, withToken, ...([] as never))) as { items: Item<K>[]; nextToken?: string };
    if (answer.items.length > 0 || !answer.nextToken) return answer.items[0];
    nextToken = answer.nextToken;
  }
  return undefined;
}
