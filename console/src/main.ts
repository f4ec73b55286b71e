import { ApiError } from './api.js';
import { deploymentScreen, isActive } from './deployment.js';
import { h } from './dom.js';
import { fleetScreen } from './fleet.js';
import { hostLogScreen } from './host-log.js';
import { executionActive, executionScreen, pipelinesScreen } from './pipelines.js';

/** How often a screen showing something still moving is read again. */
const REFRESH_MS = 2000;

const main = document.getElementById('main') as HTMLElement;
let shown = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

async function screenFor(route: string, turn: number): Promise<{ node: Node; refresh: boolean }> {
  const log = /^\/deployments\/([^/]+)\/instances\/([^/]+)\/log$/.exec(route);
  if (log) return { node: await hostLogScreen(decodeURIComponent(log[1]!), decodeURIComponent(log[2]!), () => turn === shown), refresh: false };
  const deployment = /^\/deployments\/([^/]+)$/.exec(route);
  if (deployment) {
    const id = decodeURIComponent(deployment[1]!);
    const node = await deploymentScreen(id, render);
    const status = (node as HTMLElement).querySelector('h1 .badge')?.textContent ?? '';
    return { node, refresh: isActive({ status } as Parameters<typeof isActive>[0]) };
  }
  const execution = /^\/executions\/([^/]+)$/.exec(route);
  if (execution) {
    const node = await executionScreen(decodeURIComponent(execution[1]!), render);
    return { node, refresh: executionActive((node as HTMLElement).querySelector('h1 .badge')?.textContent ?? '') };
  }
  if (route === '/pipelines') return { node: await pipelinesScreen(), refresh: true };
  return { node: await fleetScreen(), refresh: true };
}

/**
 * What a person was doing on the screen a refresh replaces: text typed (a
 * comment, a filter) with its caret, the focus, and the hosts they opened.
 * Returns what puts it back on the new screen.
 */
function keepInput(): () => void {
  const fields = [...main.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input[id], textarea[id]')].map((f) => ({ id: f.id, value: f.value, start: f.selectionStart, end: f.selectionEnd }));
  const opened = [...main.querySelectorAll<HTMLElement>('[data-instance]:has(> details[open])')].map((e) => e.dataset.instance);
  const focused = document.activeElement?.id;
  return () => {
    for (const field of fields) {
      const now = document.getElementById(field.id) as HTMLInputElement | HTMLTextAreaElement | null;
      if (!now || field.value === '') continue;
      now.value = field.value;
      if (field.start !== null) now.setSelectionRange(field.start, field.end);
    }
    for (const id of opened) main.querySelector<HTMLDetailsElement>(`[data-instance="${CSS.escape(id ?? '')}"] > details`)?.setAttribute('open', '');
    if (focused) document.getElementById(focused)?.focus();
  };
}

/** Draws the screen the address names, and reads it again while what it shows can still change. */
async function render(): Promise<void> {
  clearTimeout(timer);
  const turn = ++shown;
  const route = location.hash.replace(/^#/, '') || '/';
  try {
    const { node, refresh } = await screenFor(route, turn);
    if (turn !== shown) return;
    const kept = keepInput();
    main.replaceChildren(node);
    kept();
    main.setAttribute('aria-busy', 'false');
    if (refresh) timer = setTimeout(() => void refreshInPlace(turn), REFRESH_MS);
  } catch (error) {
    if (turn !== shown) return;
    const message = error instanceof ApiError ? `${error.message} (${error.status} ${error.code})` : String(error);
    main.replaceChildren(h('p', { role: 'alert', class: 'failure' }, message), h('p', {}, h('a', { href: '#/' }, '← Fleet')));
  }
}

/** A refresh keeps the screen as it is (no flash) and stops when the person has gone elsewhere. */
async function refreshInPlace(turn: number): Promise<void> {
  if (turn === shown) await render();
}

window.addEventListener('hashchange', () => void render());
void render();
