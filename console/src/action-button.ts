import { ApiError } from './api.js';
import { h } from './dom.js';

/**
 * A button that does one thing through the API: disabled while its request is
 * out (a double click sends one), and what came of it said in the page's status
 * line, outside the screen a refresh redraws, so a refusal stays readable.
 */
export function actionButton(label: string, run: () => Promise<unknown>, done: (answer: unknown) => void): HTMLButtonElement {
  const button = h('button', { type: 'button' }, label);
  button.addEventListener('click', async () => {
    const status = document.getElementById('action-status');
    button.disabled = true;
    if (status) status.textContent = `${label}…`;
    try {
      const answer = await run();
      if (status) status.textContent = '';
      done(answer);
    } catch (error) {
      if (status) status.textContent = error instanceof ApiError ? `${label} refused: ${error.message}` : `${label} failed: ${String(error)}`;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
