/**
 * The README's ```console blocks as a script: which commands to run, in order,
 * and what each one prints. Conventions (the README's own comment points here):
 *
 * - A line starting with `$ ` starts a command. It goes on over the next lines
 *   while a line ends in `\` or a quote is still open (as bash reads it), so a
 *   multi-line `echo '{ … }' > file` is one command. No here-documents.
 * - Every other line up to the next command is the command's expected output
 *   (stdout and stderr together, as a terminal shows them). A command with no
 *   lines under it is checked only for exit status 0; every command must exit 0.
 * - In an expected line, `…` matches any run of characters (`d-…`, `e-…`); a line
 *   that is only `…` matches any number of lines, none included. Everything else
 *   must match exactly, but for trailing spaces and trailing blank lines.
 * - `<!-- readme-test: skip (why) -->` on the line before a block's fence leaves
 *   that block out; the reason is required.
 */

export interface ConsoleCommand {
  /** The command as bash reads it, continuation lines included, without the `$ `. */
  command: string;
  expected: string[];
  /** 1-based README line of the `$ `. */
  line: number;
}

export interface ConsoleBlock {
  /** 1-based README line of the opening fence. */
  line: number;
  /** The nearest heading above the block. */
  section: string;
  /** Why the block is not run, when it is marked so. */
  skip?: string;
  commands: ConsoleCommand[];
}

export class ReadmeFormatError extends Error {
  override readonly name = 'ReadmeFormatError';
}

const SKIP = /^<!--\s*readme-test:\s*skip\s*\((.+)\)\s*-->\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;

/** Every ```console block of a Markdown text, in order, with its commands. */
export function consoleBlocks(markdown: string): ConsoleBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: ConsoleBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) {
      const heading = /^#{1,6}\s+(.*)$/.exec(lines[i] as string);
      if (heading) section = (heading[1] as string).trim();
      continue;
    }
    const fence = open[2] as string;
    const info = (open[3] as string).trim().split(/\s+/)[0] ?? '';
    let end = i + 1;
    while (end < lines.length && !isClosingFence(lines[end] as string, fence)) end++;
    if (end >= lines.length) throw new ReadmeFormatError(`line ${i + 1}: the code block opened here is never closed`);
    if (info === 'console') {
      const marker = i > 0 ? SKIP.exec((lines[i - 1] as string).trim()) : null;
      if (i > 0 && !marker && /readme-test/.test(lines[i - 1] as string)) {
        throw new ReadmeFormatError(`line ${i}: a readme-test marker must read <!-- readme-test: skip (reason) -->`);
      }
      const block: ConsoleBlock = { line: i + 1, section, commands: parseCommands(lines.slice(i + 1, end), i + 2) };
      if (marker) block.skip = (marker[1] as string).trim();
      blocks.push(block);
    }
    i = end;
  }
  return blocks;
}

function isClosingFence(line: string, fence: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith(fence[0] as string) && trimmed.length >= fence.length && new Set(trimmed).size === 1;
}

function parseCommands(body: string[], firstLine: number): ConsoleCommand[] {
  const commands: ConsoleCommand[] = [];
  for (let k = 0; k < body.length; k++) {
    const text = body[k] as string;
    if (!text.startsWith('$ ')) {
      if (commands.length === 0) {
        if (text.trim() === '') continue;
        throw new ReadmeFormatError(`line ${firstLine + k}: output before any command ("${text}")`);
      }
      (commands.at(-1) as ConsoleCommand).expected.push(text);
      continue;
    }
    const start = k;
    const parts = [text.slice(2)];
    while (needsMore(parts.join('\n'))) {
      k++;
      if (k >= body.length) throw new ReadmeFormatError(`line ${firstLine + start}: the command never ends (an open quote or a trailing \\)`);
      parts.push(body[k] as string);
    }
    const command = parts.join('\n');
    if (/<<-?\s*['"]?\w/.test(stripQuoted(command))) throw new ReadmeFormatError(`line ${firstLine + start}: here-documents are not supported`);
    commands.push({ command, expected: [], line: firstLine + start });
  }
  for (const c of commands) while (c.expected.length > 0 && (c.expected.at(-1) as string).trim() === '') c.expected.pop();
  return commands;
}

/** Scans shell text as bash would for quoting; calls `visit` on every character outside quotes and comments. */
function scan(text: string, visit?: (ch: string) => void): { quote: '' | "'" | '"'; escaped: boolean } {
  let quote: '' | "'" | '"' = '';
  let escaped = false;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (comment) {
      if (ch === '\n') comment = false;
      continue;
    }
    if (escaped) {
      escaped = false;
      continue;
    }
    if (quote === "'") {
      if (ch === "'") quote = '';
      continue;
    }
    if (ch === '\\') {
      escaped = true;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = '';
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '#' && (i === 0 || /\s|;|&|\||\(/.test(text[i - 1] as string))) comment = true;
    else visit?.(ch);
  }
  return { quote, escaped };
}

/** True while bash would ask for another line: a quote is open or the text ends in a backslash. */
export function needsMore(text: string): boolean {
  const { quote, escaped } = scan(text);
  return quote !== '' || escaped;
}

function stripQuoted(text: string): string {
  let out = '';
  scan(text, (ch) => (out += ch));
  return out;
}

/** The result of comparing output with a block's expected lines. */
export type OutputMatch = { ok: true } | { ok: false; reason: string };

const ELLIPSIS = '…';

function lineMatcher(expected: string): (actual: string) => boolean {
  if (!expected.includes(ELLIPSIS)) return (actual) => actual === expected;
  const pattern = expected.split(ELLIPSIS).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*?');
  const regex = new RegExp(`^${pattern}$`, 's');
  return (actual) => regex.test(actual);
}

const normalise = (lines: string[]) => {
  const out = lines.map((l) => l.replace(/\s+$/, ''));
  while (out.length > 0 && out.at(-1) === '') out.pop();
  return out;
};

/**
 * Whether `actual` (the command's output) is what `expected` shows, with the
 * `…` conventions above. Matches the whole output: a missing line or an extra
 * one fails unless a `…` line allows it.
 */
export function matchOutput(expectedLines: string[], actualText: string): OutputMatch {
  const expected = normalise(expectedLines);
  const actual = normalise(actualText.split(/\r?\n/));
  const matchers = expected.map((e) => (e === ELLIPSIS ? undefined : lineMatcher(e)));
  // memo[e][a]: expected[e..] matches actual[a..]; iterative from the end, so no deep recursion.
  const memo: boolean[][] = Array.from({ length: expected.length + 1 }, () => new Array<boolean>(actual.length + 1).fill(false));
  memo[expected.length]![actual.length] = true;
  for (let e = expected.length - 1; e >= 0; e--) {
    const m = matchers[e];
    for (let a = actual.length; a >= 0; a--) {
      memo[e]![a] = m === undefined
        ? memo[e + 1]![a]! || (a < actual.length && memo[e]![a + 1]!)
        : a < actual.length && m(actual[a] as string) && memo[e + 1]![a + 1]!;
    }
  }
  if (memo[0]![0]) return { ok: true };
  return { ok: false, reason: explainMismatch(expected, actual, matchers) };
}

/** The first expected line that cannot be matched, greedily: where a reader should look. */
function explainMismatch(expected: string[], actual: string[], matchers: (((a: string) => boolean) | undefined)[]): string {
  let a = 0;
  for (let e = 0; e < expected.length; e++) {
    const m = matchers[e];
    if (m === undefined) {
      const next = matchers.slice(e + 1).findIndex((x) => x !== undefined);
      if (next === -1) return 'the output matches up to a final …, yet not as a whole';
      const target = matchers[e + 1 + next] as (x: string) => boolean;
      while (a < actual.length && !target(actual[a] as string)) a++;
      continue;
    }
    if (a >= actual.length) return `expected line ${e + 1} "${expected[e]}" but the output ended`;
    if (!m(actual[a] as string)) return `expected line ${e + 1} "${expected[e]}" but got "${actual[a]}"`;
    a++;
  }
  if (a < actual.length) return `unexpected output after the last expected line: "${actual[a]}"`;
  return 'the output does not match';
}
