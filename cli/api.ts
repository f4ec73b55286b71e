import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { type OperationId, operations } from '../lib/api/operations.js';
import type { Answer, Body, Item, Params } from '../lib/api/operation-types.js';
import { ApiError } from '../lib/api/client-error.js';
import { type StackInfo, readStackInfo } from '../local/state-dir.js';

type ListOperation = { [K in OperationId]: Answer<K> extends { items: unknown[] } ? K : never }[OperationId];

/** A usage problem: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export { ApiError };

/** No AWS credentials to sign with: says where the CLI looked and how to give it some. */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

export interface Target {
  apiUrl: string;
  /** Set when the API is the local stack (npm start): no signing, and its S3 for uploads. */
  local?: StackInfo | undefined;
  region?: string | undefined;
  /** The local stack only: the principal to act as (its identity switch, X-Fleetline-Principal). */
  principal?: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The local stack's state dir: FLEETLINE_STATE_DIR, else the nearest .fleetline/ with a running stack, walking up. */
function findLocalStack(): StackInfo | undefined {
  if (process.env.FLEETLINE_STATE_DIR) return readStackInfo(resolve(process.env.FLEETLINE_STATE_DIR));
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const candidate = join(dir, '.fleetline');
    if (existsSync(candidate)) {
      const info = readStackInfo(candidate);
      if (info) return info;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** --api, then FLEETLINE_API, then a running local stack. */
export function resolveTarget(flag: string | undefined, region: string | undefined): Target {
  const explicit = flag ?? process.env.FLEETLINE_API;
  if (explicit) {
    let url: URL;
    try {
      url = new URL(explicit);
    } catch {
      throw new UsageError(`--api / FLEETLINE_API must be a URL, not "${explicit}"`);
    }
    const local = LOOPBACK.has(url.hostname) ? findLocalStack() : undefined;
    return { apiUrl: explicit.replace(/\/+$/, ''), local: local?.apiUrl === url.origin ? local : undefined, region: region ?? regionOf(url) };
  }
  const local = findLocalStack();
  if (local) return { apiUrl: local.apiUrl, local };
  throw new UsageError('No Fleetline API: pass --api URL, set FLEETLINE_API, or start the local stack with npm start');
}

/** execute-api hosts carry their region: abc123.execute-api.eu-west-1.amazonaws.com. */
const regionOf = (url: URL) => /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;

/**
 * JSON over HTTP to the Fleetline API. Against AWS every request is signed
 * with SigV4 from the default credential chain (profiles, SSO, environment,
 * instance role); the local stack (loopback) needs no credentials.
 */
export class FleetlineApi {
  private readonly signer?: SignatureV4;

  constructor(readonly target: Target) {
    const url = new URL(target.apiUrl);
    if (!LOOPBACK.has(url.hostname)) {
      if (target.principal) throw new UsageError('--as works against the local stack only: against AWS you act as your AWS credentials');
      if (!target.region) throw new UsageError('Cannot tell the API\'s region for SigV4: pass --region or set AWS_REGION');
      this.signer = new SignatureV4({ service: 'execute-api', region: target.region, credentials: defaultProvider(), sha256: Sha256 });
    }
  }

  /**
   * One operation of the API (lib/api/operations.ts), typed by its schemas: path
   * parameters fill the path, the other parameters go to the query string, and
   * without a body none is sent (routes that take none refuse even `{}`).
   */
  call<K extends OperationId>(id: K, params: Params<K>, body?: Body<K>): Promise<Answer<K>> {
    const op = operations[id];
    const rest: Record<string, unknown> = { ...(params as object) };
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = rest[name];
      delete rest[name];
      return encodeURIComponent(String(value));
    });
    const query = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.send(op.method, path, body, query) as Promise<Answer<K>>;
  }

  /** Every item of a paginated list. */
  async all<K extends ListOperation>(id: K, params: Params<K>): Promise<Item<K>[]> {
    const items: Item<K>[] = [];
    let nextToken: string | undefined;
    do {
      const page = (await this.call(id, { ...(params as object), limit: 100, nextToken } as Params<K>)) as { items: Item<K>[]; nextToken?: string };
      items.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return items;
  }

  private async sign(request: Parameters<SignatureV4['sign']>[0]) {
    try {
      return await (this.signer as SignatureV4).sign(request);
    } catch (error) {
      if ((error as Error).name !== 'CredentialsProviderError') throw error;
      const profile = process.env.AWS_PROFILE ? `the profile ${process.env.AWS_PROFILE} (AWS_PROFILE)` : 'the profile named by AWS_PROFILE (else "default")';
      throw new CredentialsError(
        `No AWS credentials to sign requests to ${this.target.apiUrl} with. The CLI uses the AWS default credential chain: ` +
          `AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), then ${profile} in ~/.aws/config and ~/.aws/credentials ` +
          '(SSO: run aws sso login --profile NAME first), then a container or instance role. Set AWS_PROFILE=NAME or export credentials.',
      );
    }
  }

  /**
   * One request to the API as the caller: signed with SigV4 against AWS. The
   * console's proxy (cli/console-server.ts) sends the browser's requests through it.
   */
  async request(method: string, path: string, query: URLSearchParams, payload?: string): Promise<Response> {
    const base = new URL(this.target.apiUrl);
    const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
    for (const [k, v] of query) if (v !== '') url.searchParams.set(k, v);
    // POST and PUT say JSON even with no body (the API refuses them otherwise).
    const json = payload !== undefined || method === 'POST' || method === 'PUT';
    let headers: Record<string, string> = {
      host: url.host,
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(!this.signer && this.target.principal ? { 'x-fleetline-principal': this.target.principal } : {}),
    };
    if (this.signer) {
      const signed = await this.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
      });
      headers = signed.headers as Record<string, string>;
    }
    const { host: _host, ...sent } = headers;
    try {
      return await fetch(url, { method, headers: sent, ...(payload !== undefined ? { body: payload } : {}), signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new ApiError(0, 'Unreachable', `Cannot reach the Fleetline API at ${this.target.apiUrl}: ${(error as Error).cause ?? (error as Error).message}`);
    }
  }

  private async send(method: string, path: string, body?: unknown, query: Record<string, string | undefined> = {}): Promise<unknown> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
    const response = await this.request(method, path, params, body === undefined ? undefined : JSON.stringify(body));
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (text && parsed === undefined) {
      // Not this API at all (a wrong --api: S3's XML, a proxy's HTML page): say so rather than show its body.
      const type = response.headers.get('content-type')?.split(';')[0];
      throw new ApiError(
        response.status,
        'NotFleetline',
        `${this.target.apiUrl} did not answer as the Fleetline API (HTTP ${response.status}${type ? `, ${type}` : ''}, not JSON): check --api / FLEETLINE_API (the HTTP API's URL, e.g. https://ID.execute-api.REGION.amazonaws.com)`,
      );
    }
    if (!response.ok) {
      const error: { code?: string; message?: string; details?: { path: string; message: string }[] } = (parsed as { error?: object } | undefined)?.error ?? {};
      throw new ApiError(response.status, error.code ?? `HTTP${response.status}`, error.message ?? (text.slice(0, 200) || response.statusText), error.details ?? []);
    }
    return parsed;
  }
}
