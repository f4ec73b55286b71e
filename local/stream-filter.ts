/**
 * Lambda's event filtering, as far as the worker's filter (build/worker-stream-filter.cjs) uses
 * it: a record passes when any pattern matches. A pattern's object keys must be in the record
 * with the same nesting; its arrays list what the value may be (any of them): a value, or
 * `{ "anything-but": [...] }`, or `{ "exists": boolean }`. A field that is missing matches only
 * `{ "exists": false }`. Any other rule throws, so a filter this does not understand fails loudly
 * instead of letting through what AWS would not.
 */
export type FilterPattern = { [key: string]: FilterPattern | unknown[] };

function ruleMatches(rule: unknown, value: unknown): boolean {
  if (rule === null || typeof rule !== 'object') return value !== undefined && value === rule;
  const [operator, ...more] = Object.keys(rule);
  const operand = (rule as Record<string, unknown>)[operator ?? ''];
  if (more.length > 0 || operator === undefined) throw new Error(`Unsupported filter rule ${JSON.stringify(rule)}`);
  if (operator === 'exists') return (value !== undefined) === operand;
  if (operator === 'anything-but') return value !== undefined && !(Array.isArray(operand) ? operand : [operand]).includes(value);
  throw new Error(`Unsupported filter rule ${JSON.stringify(rule)}`);
}

function patternMatches(pattern: FilterPattern, value: unknown): boolean {
  const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  return Object.entries(pattern).every(([key, rules]) =>
    Array.isArray(rules) ? rules.some((rule) => ruleMatches(rule, object[key])) : patternMatches(rules, object[key]),
  );
}

/** Whether a record (in the shape Lambda hands a function) passes the filter. */
export function passesFilter(patterns: readonly FilterPattern[], record: unknown): boolean {
  return patterns.some((pattern) => patternMatches(pattern, record));
}
