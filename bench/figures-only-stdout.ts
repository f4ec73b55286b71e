import { writeSync } from 'node:fs';

/**
 * Imported first by bench/run.ts: stdout carries only the figures' JSON lines.
 * Everything else written to it (the logger, the SDK, the local stack) goes to
 * stderr, and figures are written to file descriptor 1 directly.
 */
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

export function writeFigureLine(line: string): void {
  writeSync(1, `${line}\n`);
}
