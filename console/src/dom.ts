/** A tiny element builder: the console has no UI library (its budget is a few kilobytes). */
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** A status as a labelled badge: colour is never the only signal (the word is always there). */
export const badge = (status: string) => h('span', { class: `badge badge-${status.toLowerCase()}` }, status);

/** "12:04:10" in the viewer's time zone, with the full time on hover. */
export function time(iso: string | null | undefined): Node {
  if (!iso) return document.createTextNode('—');
  const at = new Date(iso);
  return h('time', { datetime: iso, title: at.toString() }, at.toLocaleString());
}

export function table(caption: string, headings: string[], rows: Child[][]): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headings.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, rows.length > 0 ? rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell)))) : h('tr', {}, h('td', { colspan: headings.length }, 'None yet'))),
  );
}
