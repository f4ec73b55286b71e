import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/packaged-template.js';
import { ReadmeFormatError, consoleBlocks, matchOutput, needsMore } from '../support/readme-console.js';

const md = (...lines: string[]) => lines.join('\n');

describe('reading console blocks', () => {
  it('takes $ lines as commands and the lines under them as their output, in order', () => {
    const blocks = consoleBlocks(md('# Title', '## Quick start', '```console', '$ echo hi', 'hi', '$ true', '```', 'text', '```sh', '$ not console', '```'));
    expect(blocks).toEqual([{ line: 3, section: 'Quick start', commands: [
      { command: 'echo hi', expected: ['hi'], line: 4 },
      { command: 'true', expected: [], line: 6 },
    ] }]);
  });

  it('joins backslash continuations and lines inside an open quote into one command', () => {
    const [block] = consoleBlocks(md('```console', "$ curl -s x \\", "    -d '{\"a\":", "  1}'", 'out', '```'));
    expect(block!.commands).toEqual([{ command: "curl -s x \\\n    -d '{\"a\":\n  1}'", expected: ['out'], line: 2 }]);
  });

  it('a quote inside a comment or an escaped quote opens nothing', () => {
    const [block] = consoleBlocks(md('```console', "$ cat x   # each host's root", 'y', "$ echo it\\'s", "it's", '```'));
    expect(block!.commands.map((c) => [c.command, c.expected])).toEqual([["cat x   # each host's root", ['y']], ["echo it\\'s", ["it's"]]]);
    expect(needsMore("echo 'a # b")).toBe(true);
    expect(needsMore('echo "a \'b" c')).toBe(false);
    expect(needsMore('printf "%s\\n" "$(echo "x")"')).toBe(false);
  });

  it('a skip marker needs a reason; a block marked so is kept with it', () => {
    const [block] = consoleBlocks(md('<!-- readme-test: skip (the test starts the stack) -->', '```console', '$ npm start', 'banner', '```'));
    expect(block!.skip).toBe('the test starts the stack');
    expect(() => consoleBlocks(md('<!-- readme-test: skip -->', '```console', '$ x', '```'))).toThrow(ReadmeFormatError);
    expect(() => consoleBlocks(md('<!-- readme-test: run -->', '```console', '$ x', '```'))).toThrow(/must read/);
  });

  it('refuses what it cannot run faithfully: an open quote at the end, output before a command, a here-document, an unclosed fence', () => {
    expect(() => consoleBlocks(md('```console', "$ echo 'never closed", '```'))).toThrow(/never ends/);
    expect(() => consoleBlocks(md('```console', '$ echo a \\', '```'))).toThrow(/never ends/);
    expect(() => consoleBlocks(md('```console', 'stray', '$ x', '```'))).toThrow(/output before any command/);
    expect(() => consoleBlocks(md('```console', '$ cat <<EOF > f', 'x', 'EOF', '```'))).toThrow(/here-documents/);
    expect(() => consoleBlocks(md('```console', '$ x'))).toThrow(/never closed/);
    // `<<` inside quotes is text, not a here-document.
    expect(consoleBlocks(md('```console', "$ echo 'a << b'", '```'))[0]!.commands[0]!.command).toBe("echo 'a << b'");
  });

  it('a longer fence holds a shorter one; blocks in other languages are not read', () => {
    const blocks = consoleBlocks(md('````md', '```console', '$ inside', '```', '````', '```console', '$ real', '```'));
    expect(blocks.map((b) => b.commands[0]!.command)).toEqual(['real']);
  });

  it("this repository's README parses, and only the blocks that cannot run here are skipped, each saying why", () => {
    const blocks = consoleBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThan(3);
    for (const b of blocks) expect(b.commands.length, `block at line ${b.line}`).toBeGreaterThan(0);
    const skipped = blocks.filter((b) => b.skip).flatMap((b) => b.commands.map((c) => c.command.split(' ').slice(0, 3).join(' ')));
    expect(skipped).toEqual([
      'npm install &&', 'npm test', 'npx fleetline agent', 'node /opt/fleetline/fleetline-agent.mjs --check', 'npx osls deploy', 'aws iam attach-role-policy',
      // Deploy to AWS past what runs offline (osls package and agent user-data run): an instance, SSM, the stack's API, its removal.
      'aws ec2 run-instances', 'aws ssm send-command', 'export FLEETLINE_API=https://abc123.execute-api.us-east-1.amazonaws.com',
      'npx fleetline apps', 'npx fleetline groups', 'npx fleetline instances', 'npx fleetline deploy', 'npx osls remove',
    ]);
  });
});

describe('matching output', () => {
  it('exact lines match; trailing spaces and trailing blank lines do not matter', () => {
    expect(matchOutput(['a', 'b  '], 'a  \nb\n\n')).toEqual({ ok: true });
  });

  it('a missing line fails, naming it', () => {
    expect(matchOutput(['a', 'b', 'c'], 'a\nc\n')).toEqual({ ok: false, reason: 'expected line 2 "b" but got "c"' });
    expect(matchOutput(['a', 'b'], 'a\n')).toEqual({ ok: false, reason: 'expected line 2 "b" but the output ended' });
  });

  it('an extra line fails unless a … line allows it', () => {
    expect(matchOutput(['a'], 'a\nsurprise\n')).toEqual({ ok: false, reason: 'unexpected output after the last expected line: "surprise"' });
    expect(matchOutput(['a', 'b'], 'a\nsurprise\nb\n').ok).toBe(false);
    expect(matchOutput(['a', '…', 'b'], 'a\nx\ny\nb\n')).toEqual({ ok: true });
    expect(matchOutput(['a', '…', 'b'], 'a\nb\n')).toEqual({ ok: true });
    expect(matchOutput(['…'], '')).toEqual({ ok: true });
    expect(matchOutput(['…', 'last'], 'x\nlast\n')).toEqual({ ok: true });
    expect(matchOutput(['…', 'last'], 'last\nx\n').ok).toBe(false);
  });

  it('… in a line matches any text within that line only', () => {
    expect(matchOutput(['deployment d-… created'], 'deployment d-ABCDEFGHI created')).toEqual({ ok: true });
    expect(matchOutput(['d-… Succeeded'], 'd-X Failed')).toMatchObject({ ok: false });
    expect(matchOutput(['a…b'], 'a\nb')).toMatchObject({ ok: false });
    expect(matchOutput(['e-…'], 'e-')).toEqual({ ok: true });
  });

  it('everything but … is literal: regular-expression characters in the README match only themselves', () => {
    expect(matchOutput(['{"path":"$.targets[0].value"} (x+y)*'], '{"path":"$.targets[0].value"} (x+y)*')).toEqual({ ok: true });
    expect(matchOutput(['a.c'], 'abc')).toMatchObject({ ok: false });
    expect(matchOutput(['^a$'], 'a')).toMatchObject({ ok: false });
  });

  it('any output matches itself; dropping, adding or changing a line breaks it; eliding a line keeps it', () => {
    const line = fc.string({ maxLength: 12 }).map((s) => s.replace(/[\r\n…]/g, '').trimEnd()).filter((s) => s !== '');
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.nat(), line, (lines, pick, other) => {
        const at = pick % lines.length;
        const text = lines.join('\n');
        expect(matchOutput(lines, text).ok).toBe(true);
        expect(matchOutput(lines.filter((_, i) => i !== at), text).ok).toBe(false);
        expect(matchOutput([...lines.slice(0, at), other, ...lines.slice(at)], text).ok).toBe(false);
        if (other !== lines[at]) expect(matchOutput(lines.map((l, i) => (i === at ? other : l)), text).ok).toBe(false);
        expect(matchOutput(lines.map((l, i) => (i === at ? '…' : l)), text).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('many … lines over a long output are decided (no exponential backtracking to hang on)', () => {
    const actual = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    expect(matchOutput([...Array.from({ length: 50 }, () => '…'), 'never there'], actual).ok).toBe(false);
    expect(matchOutput([...Array.from({ length: 50 }, () => '…'), 'line 1999'], actual).ok).toBe(true);
  });
});
