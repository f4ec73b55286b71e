/**
 * One line naming why a call to the API failed, where the person installing
 * the agent looks first: shared by `fleetline-agent --check` and the running
 * agent's log.
 */

/** API Gateway refuses a SigV4 signature whose time is more than this far from its own. */
const MAX_SKEW_SECONDS = 300;

/** The default credential chain the agent signs with (AWS SDK defaultProvider), in its order. */
const CREDENTIAL_CHAIN =
  'environment variables (AWS_ACCESS_KEY_ID), the shared config and credentials files (AWS_PROFILE), web identity, the ECS container role, then the EC2 instance profile (IMDS)';

/** An answer that is not JSON: whatever answered, it is not Fleetline's API. */
export class NotTheApiError extends Error {
  constructor(
    readonly status: number,
    readonly contentType: string,
  ) {
    super(`HTTP ${status} (${contentType || 'no content type'}), not JSON`);
  }
}

/** Why a request never got an answer: no route, no name, no answer in time, no credentials to sign with, or not the API; undefined for anything else. */
export function requestFailureCause(error: unknown, url: string): string | undefined {
  const err = error as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code;
  const host = safeHost(url);
  if (error instanceof NotTheApiError) return `wrong API URL: ${url} answered ${error.message}: not Fleetline's API (use the stack's ApiUrl output)`;
  if (err.name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT')
    return `no route to the API: ${host} did not answer in time (timeout): check security groups, proxies and the route to it`;
  if (code === 'ECONNREFUSED') return `no route to the API: ${host} refused the connection (nothing listens there): check the URL's host and port`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `no route to the API: the name ${host} does not resolve (DNS failure): check the URL and the host's DNS`;
  if (code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `no route to the API: ${host}: ${code}`;
  if (err.name === 'CredentialsProviderError' || /could not load credentials/i.test(err.message ?? ''))
    return `no AWS credentials: none found in the default credential chain (${CREDENTIAL_CHAIN}): on EC2, launch the instance with the stack's instance profile (output AgentInstanceProfileName)`;
  return undefined;
}

/** The refusal of a signed agent call, told apart: a clock too far off, a role not allowed, or not Fleetline's API. */
export function refusalCause(status: number, body: unknown, url: string): string {
  const message = refusalMessage(body);
  if (/signature expired|signature not yet current/i.test(message))
    return `clock skew: API Gateway refused the signature as out of date (${message}): set this host's clock (chrony or NTP)`;
  if (status === 401 || status === 403)
    return `credentials refused: HTTP ${status}${message ? ` (${message})` : ''}: the role the agent signs with is not allowed to call the agent routes (use the stack's agent role, or name yours in agentRoleNames)`;
  if (status === 404) return `wrong API URL: ${url} answered HTTP 404 for the agent routes: not Fleetline's API (use the stack's ApiUrl output)`;
  return `the API answered HTTP ${status}${message ? `: ${message}` : ''}`;
}

/** How far this host's clock is from the server's, in whole seconds (positive: ahead); undefined without a usable Date header. */
export function skewSeconds(dateHeader: string | null, now = Date.now()): number | undefined {
  const server = dateHeader ? Date.parse(dateHeader) : Number.NaN;
  return Number.isNaN(server) ? undefined : Math.round((now - server) / 1000);
}

export function skewCause(skew: number): string | undefined {
  if (Math.abs(skew) <= MAX_SKEW_SECONDS) return undefined;
  return `clock skew: this host's clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the API's (its Date header); API Gateway refuses SigV4 signatures more than ${MAX_SKEW_SECONDS} s off: set the clock (chrony or NTP)`;
}

/** API Gateway says `{ message }`, Fleetline `{ error: { message } }`; anything else is not shown (it may be a whole page). */
function refusalMessage(body: unknown): string {
  const b = body as { message?: unknown; Message?: unknown; error?: { message?: unknown } } | undefined;
  const m = b?.error?.message ?? b?.message ?? b?.Message;
  return typeof m === 'string' ? m.slice(0, 300) : '';
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
