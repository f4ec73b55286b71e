import { ApiError } from './api.js';
import { deploymentScreen, isActive } from './deployment.js';
import { h } from './dom.js';
import { fleetScreen } from './fleet.js';
import { historyScreen } from './history.js';
import { hostLogScreen } from './host-log.js';
import { executionActive, executionScreen, pipelinesScreen } from './pipelines.js';

/** How often a screen showing something still moving is read again; after a failed read, up to a minute apart. */
const REFRESH_MS = 2000;
const MAX_BACKOFF_MS = 60_000;

const main = document.getElementById('main') as HTMLElement;
const stale = document.getElementById('stale') as HTMLElement;
let shown = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
/** What is on screen: its route and the markup it was built as (a refresh that reads the same leaves it alone). */
let current: { route: string; html: string } | undefined;
let failures = 0;

async function screenFor(route: string, turn: number): Promise<{ node: Node; refresh: boolean }> {
  const log = /^\/deployments\/([^/]+)\/instances\/([^/]+)\/log$/.exec(route);
  if (log) return { node: await hostLogScreen(decodeURIComponent(log[1]!), decodeURIComponent(log[2]!), () => turn === shown), refresh: false };
  const deployment = /^\/deployments\/([^/]+)$/.exec(route);
  if (deployment) {
    const node = await deploymentScreen(decodeURIComponent(deployment[1]!), render);
    const status = (node as HTMLElement).querySelector('h1 .badge')?.textContent ?? '';
    return { node, refresh: isActive({ status } as Parameters<typeof isActive>[0]) };
  }
  const execution = /^\/executions\/([^/]+)$/.exec(route);
  if (execution) {
    const node = await executionScreen(decodeURIComponent(execution[1]!), render);
    return { node, refresh: executionActive((node as HTMLElement).querySelector('h1 .badge')?.textContent ?? '') };
  }
  if (route === '/pipelines') return { node: await pipelinesScreen(), refresh: true };
  if (route === '/history' || route.startsWith('/history?')) return { node: await historyScreen(route.slice('/history'.length).replace(/^\?/, '')), refresh: true };
  return { node: await fleetScreen(), refresh: true };
}

/** A stable name for the element that has the focus, so the same control has it after a refresh. */
function focusKey(element: Element | null): string | undefined {
  if (!element || element === document.body || !main.contains(element)) return undefined;
  if (element.id) return `#${CSS.escape(element.id)}`;
  const scope = element.closest('[data-instance], [data-action], [data-stage]');
  const where = scope ? `[${[...scope.attributes].filter((a) => a.name.startsWith('data-')).map((a) => `${a.name}="${CSS.escape(a.value)}"`).join('][')}] ` : '';
  const href = element.getAttribute('href');
  return href ? `${where}${element.tagName.toLowerCase()}[href="${CSS.escape(href)}"]` : `${where}${element.tagName.toLowerCase()}:nth-of-type(1)`;
}

/**
 * What a person was doing on the screen a refresh replaces: text typed (a
 * comment, a filter) with its caret, the focus, and the host cards they opened
 * or closed. Returns what puts it back on the new screen of the same route.
 */
function keepInput(): () => void {
  const fields = [...main.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input[id], textarea[id]')].map((f) => ({ id: f.id, value: f.value, start: f.selectionStart, end: f.selectionEnd }));
  const cards = [...main.querySelectorAll<HTMLElement>('[data-instance]')].map((e) => ({ id: e.dataset.instance ?? '', open: e.querySelector('details')?.open ?? false }));
  const focused = focusKey(document.activeElement);
  return () => {
    for (const field of fields) {
      const now = document.getElementById(field.id) as HTMLInputElement | HTMLTextAreaElement | null;
      if (!now || field.value === '') continue;
      now.value = field.value;
      if (field.start !== null) now.setSelectionRange(field.start, field.end);
    }
    for (const card of cards) {
      const details = main.querySelector<HTMLDetailsElement>(`[data-instance="${CSS.escape(card.id)}"] > details`);
      if (details && details.open !== card.open) details.toggleAttribute('open', card.open);
    }
    if (focused) main.querySelector<HTMLElement>(focused)?.focus();
  };
}

/** Draws the screen the address names, and reads it again while what it shows can still change. */
async function render(): Promise<void> {
  clearTimeout(timer);
  const turn = ++shown;
  const route = location.hash.replace(/^#/, '') || '/';
  const refreshing = current?.route === route;
  try {
    const { node, refresh } = await screenFor(route, turn);
    if (turn !== shown) return;
    failures = 0;
    stale.textContent = '';
    const html = node instanceof Element ? node.outerHTML : '';
    // Nothing changed: the screen, its focus and what the person typed or opened stay as they are.
    if (!refreshing || html !== current?.html) {
      const kept = refreshing ? keepInput() : () => undefined;
      main.replaceChildren(node);
      kept();
      current = { route, html };
    }
    main.setAttribute('aria-busy', 'false');
    if (refresh) schedule(turn, REFRESH_MS);
  } catch (error) {
    if (turn !== shown) return;
    const message = error instanceof ApiError ? `${error.message} (${error.status} ${error.code})` : String(error);
    const transient = !(error instanceof ApiError) || error.status === 0 || error.status === 429 || error.status >= 500;
    if (refreshing && transient) {
      // A failed read keeps the last screen, says since when it is stale, and tries again, further apart each time.
      failures++;
      if (!stale.textContent) stale.textContent = `Not up to date since ${new Date().toLocaleTimeString()}: ${message}. Trying again.`;
      schedule(turn, Math.min(REFRESH_MS * 2 ** failures, MAX_BACKOFF_MS));
      return;
    }
    current = undefined;
    main.replaceChildren(h('p', { role: 'alert', class: 'failure' }, message), h('p', {}, h('a', { href: '#/' }, '← Fleet')));
    if (transient) schedule(turn, Math.min(REFRESH_MS * 2 ** ++failures, MAX_BACKOFF_MS));
  }
}

/** The next read of this screen; a hidden tab waits until it is shown again. */
function schedule(turn: number, ms: number): void {
  timer = setTimeout(() => {
    if (turn !== shown) return;
    if (document.hidden) document.addEventListener('visibilitychange', () => void render(), { once: true });
    else void render();
  }, ms);
}

window.addEventListener('hashchange', () => void render());
void render();
