/**
 * The rules CodeDeploy's agent applies to the `acls` and `context` of an
 * appspec permission, as pure checks: each returns the problem, or undefined.
 */

const SCOPES: Record<string, 'user' | 'group' | 'mask' | 'other'> = {
  u: 'user',
  user: 'user',
  g: 'group',
  group: 'group',
  m: 'mask',
  mask: 'mask',
  o: 'other',
  other: 'other',
};
const isDefaultMarker = (part: string) => part === 'd' || part === 'default';

export interface AclEntry {
  isDefault: boolean;
  scope: 'user' | 'group' | 'mask' | 'other';
  name: string;
  /** As setfacl writes them: r, w and x or - in that order (`rw-`). */
  perms: string;
}

/**
 * Reads one ACL entry, `[d[efault]:][u[ser]|g[roup]|m[ask]|o[ther]:]name:perms`
 * (setfacl's syntax). A string is the problem with it.
 */
export function parseAclEntry(entry: string): AclEntry | string {
  const parts = entry.split(':');
  if (parts.length < 2 || parts.length > 4) {
    return `"${entry}" is not an ACL entry: expected [d[efault]:][u[ser]|g[roup]|m[ask]|o[ther]:]name:perms`;
  }
  const perms = parts.pop() as string;
  let isDefault = false;
  if (parts.length === 3) {
    if (!isDefaultMarker(parts[0] as string)) return `"${entry}": only default (d) may come before the scope`;
    isDefault = true;
    parts.shift();
  }
  let scope: AclEntry['scope'] | undefined;
  if (parts.length === 2) {
    const first = parts.shift() as string;
    if (isDefaultMarker(first)) {
      if (isDefault) return `"${entry}": default is given twice`;
      isDefault = true;
    } else {
      scope = SCOPES[first];
      if (!scope) return `"${entry}": unknown scope "${first}" (use user, group, mask or other)`;
    }
  }
  const qualifier = parts[0] as string;
  let name = '';
  const named = SCOPES[qualifier];
  if (named === 'mask' || named === 'other') {
    if (scope) name = named; // e.g. u:other:r is the user called "other"
    else scope = named;
  } else {
    name = qualifier;
    scope ??= 'user';
  }
  if ((scope === 'mask' || scope === 'other') && name !== '') return `"${entry}": a ${scope} entry takes no name`;
  if (!isDefault && scope !== 'mask' && name === '') {
    return `"${entry}": the ${scope} owner's entry is set with mode, not acls; name a ${scope} here`;
  }
  if (!/^([0-7]|[rwx-]{1,3})$/.test(perms)) {
    return `"${entry}": permissions "${perms}" must be one octal digit or r, w, x and - (such as rw-)`;
  }
  return { isDefault, scope, name, perms: rwx(perms) };
}

/** One octal digit or a run of r, w, x and - (any order, as the agent reads it) as `rwx` / `r-x`. */
function rwx(perms: string): string {
  const bits = /^[0-7]$/.test(perms) ? Number(perms) : (perms.includes('r') ? 4 : 0) | (perms.includes('w') ? 2 : 0) | (perms.includes('x') ? 1 : 0);
  return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
}

const aceText = (e: AclEntry) => `${e.isDefault ? 'default:' : ''}${e.scope}:${e.name}:${e.perms}`;

/**
 * The whole ACL CodeDeploy's agent sets with `setfacl --set` (install_instruction.rb,
 * ChangeAclCommand): the appspec's entries, then the base entries from the file's mode
 * (owner, group, other), a mask of the group's bits when there are named entries and no
 * mask, and, when any default entry is given, the default base entries the appspec left
 * out (from the mode) and a default mask equal to the default group entry.
 */
export function fullAcl(entries: readonly AclEntry[], mode: number): string[] {
  const digit = (shift: number) => rwx(String((mode >> shift) & 7));
  const all: AclEntry[] = [...entries];
  const add = (isDefault: boolean, scope: AclEntry['scope'], perms: string) => all.push({ isDefault, scope, name: '', perms });
  add(false, 'user', digit(6));
  add(false, 'group', digit(3));
  add(false, 'other', digit(0));
  const base = all.filter((e) => !e.isDefault);
  if (base.some((e) => e.name !== '') && !base.some((e) => e.scope === 'mask')) add(false, 'mask', digit(3));
  const defaults = () => all.filter((e) => e.isDefault);
  if (defaults().length > 0) {
    if (!defaults().some((e) => e.scope === 'user' && e.name === '')) add(true, 'user', digit(6));
    if (!defaults().some((e) => e.scope === 'group' && e.name === '')) add(true, 'group', digit(3));
    if (!defaults().some((e) => e.scope === 'other')) add(true, 'other', digit(0));
    const group = defaults().find((e) => e.scope === 'group' && e.name === '') as AclEntry;
    if (defaults().some((e) => e.name !== '') && !defaults().some((e) => e.scope === 'mask')) add(true, 'mask', group.perms);
  }
  return all.map(aceText);
}

/** A SELinux range `s0[-s3][:c0[.c5](,c7)*]`: sensitivities low ≤ high, categories 0-1023 once each. */
export function selinuxRangeProblem(range: string): string | undefined {
  const [levels = '', categories, extra] = range.split(':');
  if (extra !== undefined) return `"${range}" has more than one ":"`;
  const sensitivity = (s: string | undefined) => (s && /^s\d+$/.test(s) ? Number(s.slice(1)) : undefined);
  const [low, high, more] = levels.split('-');
  const lo = sensitivity(low);
  const hi = high === undefined ? lo : sensitivity(high);
  if (more !== undefined || lo === undefined || hi === undefined) return `"${levels}" must be a sensitivity s<n> or a range s<n>-s<m>`;
  if (hi < lo) return `sensitivity ${high} is below ${low}`;
  if (categories === undefined) return undefined;
  const category = (c: string | undefined) => (c && /^c\d+$/.test(c) && Number(c.slice(1)) <= 1023 ? Number(c.slice(1)) : undefined);
  const seen = new Set<number>();
  for (const part of categories.split(',')) {
    const [from, to, rest] = part.split('.');
    const a = category(from);
    const b = to === undefined ? a : category(to);
    if (rest !== undefined || a === undefined || b === undefined) return `"${part}" must be a category c<n> (0-1023) or a range c<n>.c<m>`;
    if (b < a) return `category range "${part}" runs backwards`;
    for (let c = a; c <= b; c++) {
      if (seen.has(c)) return `category c${c} is listed more than once`;
      seen.add(c);
    }
  }
  return undefined;
}

/**
 * CodeDeploy's pattern rule for a permission on a folder: `**` matches every
 * path below the object; any other pattern (and every `except` entry) matches
 * the name of a direct child only, with `*` for any run of characters and every
 * other character (`?` included) matching itself. `path` and `object` are
 * absolute and normalised (no trailing `/`).
 */
export function permissionMatches(object: string, path: string, pattern: string, except: readonly string[]): boolean {
  const base = object.endsWith('/') ? object : `${object}/`;
  if (!path.startsWith(base) || path.length === base.length) return false;
  const rel = path.slice(base.length);
  if (pattern !== '**' && !simpleGlob(pattern, rel)) return false;
  return !except.some((e) => simpleGlob(e, rel));
}

/** `*` matches any run of characters; a name with `/` in it never matches. Linear: only the last `*` is ever returned to. */
export function simpleGlob(pattern: string, name: string): boolean {
  if (name.includes('/')) return false;
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (pattern[p] === '*') {
      star = ++p;
      resume = n;
    } else if (p < pattern.length && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (star >= 0) {
      p = star;
      n = ++resume;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
