export type OutputFormat = 'table' | 'json';

export interface Column<T> {
  header: string;
  value: (item: T) => unknown;
}

const cell = (v: unknown): string => {
  if (v === undefined || v === null || v === '') return '-';
  if (Array.isArray(v)) return v.map(cell).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

/** Aligned columns, like kubectl get. */
export function table<T>(items: readonly T[], columns: Column<T>[]): string {
  const rows = [columns.map((c) => c.header), ...items.map((i) => columns.map((c) => cell(c.value(i))))];
  const widths = columns.map((_, k) => Math.max(...rows.map((r) => (r[k] as string).length)));
  return rows.map((r) => r.map((v, k) => (k === r.length - 1 ? v : v.padEnd(widths[k] as number))).join('  ')).join('\n');
}

/** Key: value lines for one object (nested values as JSON). */
export function fields(item: Record<string, unknown>): string {
  const width = Math.max(0, ...Object.keys(item).map((k) => k.length));
  return Object.entries(item)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${cell(v)}`)
    .join('\n');
}

export function print(format: OutputFormat, value: unknown, asTable: () => string): void {
  console.log(format === 'json' ? JSON.stringify(value, null, 2) : asTable());
}

export const tags = (list: { key: string; value: string }[] | undefined) => (list ?? []).map((t) => `${t.key}=${t.value}`).join(',');
