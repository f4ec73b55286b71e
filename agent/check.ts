import { ApiClient, type Identity } from './api-client.js';
import { refusalCause, requestFailureCause, skewCause, skewSeconds } from './failure-cause.js';
import { AGENT_VERSION } from '../lib/domain/agent-presence.js';
import type { PollRequest } from '../lib/domain/agent-wire.js';

interface CheckOptions {
  api: string;
  instanceId: string;
  identity: Identity;
}

/**
 * `fleetline-agent --check`: the installation's checks in order, one line each
 * ("ok: …" or "problem: …"); it stops at the first problem, since every later
 * check needs the earlier ones. The poll is signed as the agent's own, and
 * marked noLease: it takes no assignment and records nothing.
 */
export async function checkInstallation(options: CheckOptions): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  const fail = (line: string) => ({ ok: false, lines: [...lines, `problem: ${line}`] });
  let url: URL;
  try {
    url = new URL(options.api);
  } catch {
    return fail(`wrong API URL: ${JSON.stringify(options.api)} is not a URL (use the stack's ApiUrl output)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail(`wrong API URL: ${JSON.stringify(options.api)} is not an http(s) URL`);
  const api = new ApiClient(options.api, options.identity, 10_000);

  let health: Awaited<ReturnType<ApiClient['getPublic']>>;
  try {
    health = await api.getPublic('/health');
  } catch (error) {
    return fail(requestFailureCause(error, options.api) ?? `cannot reach the API: ${unexplained(error)}`);
  }
  if (health.status !== 200 || (health.body as { status?: unknown } | undefined)?.status !== 'ok')
    return fail(`wrong API URL: GET ${new URL('/health', url).href} answered HTTP ${health.status}, not Fleetline's {"status":"ok"} (use the stack's ApiUrl output)`);
  lines.push(`ok: ${url.host} is Fleetline's API (GET /health)`);

  const skew = skewSeconds(health.date);
  const skewProblem = skew === undefined ? undefined : skewCause(skew);
  if (skewProblem) return fail(skewProblem);
  lines.push(skew === undefined ? 'ok: clock not compared (the API sent no Date header)' : `ok: clock within ${Math.abs(skew)} s of the API's`);

  if (options.identity.kind === 'sigv4') {
    try {
      await api.credentials();
      lines.push('ok: AWS credentials found in the default credential chain');
    } catch (error) {
      return fail(requestFailureCause(error, options.api) ?? `cannot reach the API: ${unexplained(error)}`);
    }
  } else lines.push(`ok: local mode, principal ${options.identity.principal}`);

  try {
    // A noLease poll: the server answers it idle, so a check never takes (and so never strands) work waiting for this host.
    const request: PollRequest = { instanceId: options.instanceId, agentVersion: AGENT_VERSION, noLease: true };
    const answer = await api.post('/agent/v1/poll', request);
    if (answer.status !== 200) return fail(refusalCause(answer.status, answer.body, options.api));
  } catch (error) {
    return fail(requestFailureCause(error, options.api) ?? `cannot reach the API: ${unexplained(error)}`);
  }
  lines.push(`ok: the API accepted a signed poll for instance ${options.instanceId}`);
  return { ok: true, lines };
}

/** fetch says only "fetch failed": its cause says what. */
const unexplained = (error: unknown) => {
  const e = error as Error & { cause?: { message?: string } };
  return e.cause?.message ?? e.message;
};
