import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { NotTheApiError } from './failure-cause.js';

/** What the API answers when it refuses a request (design §3). */
export interface ErrorBody extends Record<string, unknown> {
  error?: { code?: string; message?: string };
}

export interface ApiAnswer<T = ErrorBody> {
  status: number;
  body: T;
}

/** How requests prove who the agent is: SigV4 in AWS, the local principal header on a laptop. */
export type Identity = { kind: 'local'; principal: string } | { kind: 'sigv4'; region: string };

export class ApiClient {
  private readonly signer?: SignatureV4;

  constructor(
    private readonly baseUrl: string,
    private readonly identity: Identity,
    private readonly timeoutMs = 15_000,
    /** Counts every request (the per-deployment request figure of the benches). */
    private readonly onRequest?: (path: string) => void,
  ) {
    if (identity.kind === 'sigv4') {
      this.signer = new SignatureV4({ service: 'execute-api', region: identity.region, credentials: defaultProvider(), sha256: Sha256 });
    }
  }

  async post<T = ErrorBody>(path: string, body: unknown): Promise<ApiAnswer<T>> {
    const url = new URL(path, this.baseUrl);
    const payload = JSON.stringify(body);
    this.onRequest?.(path);
    const headers = await this.authHeaders('POST', url, payload, { 'content-type': 'application/json' });
    const response = await fetch(url, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    return { status: response.status, body: (await jsonBody(response)) as T };
  }

  /** An unsigned GET (GET /health is public), with the answer's Date header: the server's clock. */
  async getPublic(path: string): Promise<ApiAnswer<unknown> & { date: string | null }> {
    const response = await fetch(new URL(path, this.baseUrl), { signal: AbortSignal.timeout(this.timeoutMs) });
    return { status: response.status, body: await jsonBody(response), date: response.headers.get('date') };
  }

  /** Resolves the credentials SigV4 signs with (throws naming the chain's failure); nothing to resolve in local mode. */
  async credentials(): Promise<void> {
    if (this.identity.kind === 'sigv4') await defaultProvider()();
  }

  /**
   * Headers that prove who the agent is: a SigV4 signature (service execute-api)
   * from the instance profile, or the local principal header. The control
   * channel's WebSocket upgrade is signed by the same code.
   */
  async authHeaders(method: string, url: URL, body = '', extra: Record<string, string> = {}): Promise<Record<string, string>> {
    let headers: Record<string, string> = { ...extra, host: url.host };
    if (this.identity.kind === 'local') headers['x-fleetline-principal'] = this.identity.principal;
    if (this.signer) {
      const signed = await this.signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body,
      });
      headers = signed.headers as Record<string, string>;
    }
    const { host: _host, ...sent } = headers;
    return sent;
  }
}

/** The answer's JSON; anything else (an HTML page, a proxy's text) means this is not Fleetline's API. */
async function jsonBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new NotTheApiError(response.status, response.headers.get('content-type') ?? '');
  }
}

/** IMDSv2: the instance ID and region of the EC2 instance the agent runs on. */
export async function ec2Identity(): Promise<{ instanceId: string; region: string }> {
  const base = 'http://169.254.169.254/latest';
  const token = await (
    await fetch(`${base}/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' }, signal: AbortSignal.timeout(2000) })
  ).text();
  const get = async (path: string) =>
    (await fetch(`${base}/meta-data/${path}`, { headers: { 'x-aws-ec2-metadata-token': token }, signal: AbortSignal.timeout(2000) })).text();
  return { instanceId: await get('instance-id'), region: await get('placement/region') };
}
