/**
 * Which control-channel URLs an agent opens, whoever names one (its --channel
 * option, the server's poll answer, the API's configuration): wss:// only, or
 * ws:// to this machine (the local stack). The socket carries the agent's
 * signed upgrade request, so a plain-text or foreign-looking URL is refused
 * rather than tried.
 */
export const MAX_CHANNEL_URL_LENGTH = 2048;

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Why `text` is not a channel URL an agent may open, or undefined when it is one. */
export function channelUrlProblem(text: string): string | undefined {
  if (text.length > MAX_CHANNEL_URL_LENGTH) return `longer than ${MAX_CHANNEL_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.username || url.password) return 'it carries credentials';
  if (url.hash) return 'it has a fragment';
  if (url.protocol === 'wss:') return undefined;
  if (url.protocol === 'ws:') return LOOPBACK.test(url.hostname) ? undefined : 'ws:// is accepted only to a loopback host (use wss://)';
  return `${url.protocol}// is not wss://`;
}

/** A channel URL as logs may show it: no credentials, query or fragment (whatever a hostile server put there). */
export function shownChannelUrl(text: string): string {
  try {
    const url = new URL(text);
    return JSON.stringify(`${url.protocol}//${url.host}${url.pathname}`.slice(0, 200));
  } catch {
    return `(${text.length} characters, not a URL)`;
  }
}
