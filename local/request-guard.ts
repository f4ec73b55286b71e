import type { IncomingHttpHeaders } from 'node:http';

/**
 * The local dev server has no IAM: any request it accepts acts as the local
 * admin. A web page in the developer's browser must not be able to reach it,
 * neither through DNS rebinding (a foreign Host) nor as a cross-site request
 * (a foreign Origin, or a "simple" form POST that needs no CORS preflight).
 */
const LOCAL_HOSTS = ['127.0.0.1', 'localhost'];
/** Methods a cross-site page can send without a preflight; they must carry JSON so that it cannot. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export function refuseNonLocal(method: string, headers: IncomingHttpHeaders, port: number): Refusal | undefined {
  const allowedHosts = LOCAL_HOSTS.map((h) => `${h}:${port}`);
  const host = headers.host?.toLowerCase();
  if (!host || !allowedHosts.includes(host)) {
    return { status: 403, code: 'ForbiddenError', message: `The local API answers only requests for ${allowedHosts.join(' or ')}, not Host "${host ?? ''}"` };
  }
  const origin = headers.origin;
  if (origin !== undefined && !allowedHosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
    return { status: 403, code: 'ForbiddenError', message: `Cross-site requests are refused (Origin "${origin}")` };
  }
  if (headers['sec-fetch-site'] === 'cross-site') {
    return { status: 403, code: 'ForbiddenError', message: 'Cross-site requests are refused (Sec-Fetch-Site: cross-site)' };
  }
  const contentType = headers['content-type'];
  if (BODY_METHODS.has(method.toUpperCase()) && !(contentType && /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType))) {
    return {
      status: 415,
      code: 'UnsupportedMediaTypeError',
      message: `${method} requests must send Content-Type: application/json, even with an empty body (got "${contentType ?? ''}")`,
    };
  }
  return undefined;
}
