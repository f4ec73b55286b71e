import { createWriteStream, type WriteStream } from 'node:fs';
import { OUTPUT_TAIL_BYTES } from '../lib/domain/lifecycle.js';

/**
 * Everything a deployment's hooks print: kept in full in a log file readable
 * by root only, each line marked with its time and stream as CodeDeploy's
 * agent writes its script log (`2026-12-07 15:04:05 [stdout]text`), in the
 * order lines complete; and the last 4 KB of the raw output in memory.
 */
export class OutputLog {
  private tail = Buffer.alloc(0);
  private readonly file: WriteStream;
  /** A line a stream has begun but not ended yet. */
  private readonly partial: Record<HookStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  constructor(
    readonly path: string,
    /** Every stamped line, as the file gets it (the live log, docs/live-logs.md). */
    private readonly onLine?: (line: string) => void,
  ) {
    this.file = createWriteStream(path, { flags: 'a', mode: 0o600 });
  }

  /** Bytes for the in-memory tail only. */
  write(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.tail = Buffer.concat([this.tail, bytes]);
    if (this.tail.length > OUTPUT_TAIL_BYTES * 2) this.tail = this.tail.subarray(this.tail.length - OUTPUT_TAIL_BYTES);
  }

  /** What a hook wrote on one of its streams: each completed line goes to the file, stamped. */
  output(stream: HookStream, chunk: Buffer): void {
    this.write(chunk);
    let pending = Buffer.concat([this.partial[stream], chunk]);
    for (let end = pending.indexOf(0x0a); end >= 0; end = pending.indexOf(0x0a)) {
      this.stamp(`[${stream}]`, pending.subarray(0, end + 1));
      pending = pending.subarray(end + 1);
    }
    this.partial[stream] = pending;
  }

  /** The hook ended: a last line without its newline is written as it is. */
  endOutput(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream].length > 0) this.stamp(`[${stream}]`, Buffer.concat([this.partial[stream], Buffer.from('\n')]));
      this.partial[stream] = Buffer.alloc(0);
    }
  }

  line(text: string): void {
    const bytes = Buffer.from(`[fleetline-agent] ${text}\n`);
    this.write(bytes);
    this.stamp('', bytes);
  }

  private stamp(marker: string, line: Buffer): void {
    const stamped = Buffer.concat([Buffer.from(`${logTime(new Date())} ${marker}`), line]);
    this.file.write(stamped);
    this.onLine?.(stamped.toString('utf8'));
  }

  /** The end of the output as the server takes it: at most OUTPUT_TAIL_BYTES of well-formed UTF-8. */
  lastBytes(): string {
    return utf8Tail(this.tail, OUTPUT_TAIL_BYTES);
  }

  resetTail(): void {
    this.tail = Buffer.alloc(0);
  }

  close(): Promise<void> {
    this.endOutput();
    return new Promise((resolve) => this.file.end(resolve));
  }
}

export type HookStream = 'stdout' | 'stderr';

/** The host's local time as CodeDeploy's script log shows it: `YYYY-MM-DD HH:MM:SS`. */
export function logTime(at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
}

const isContinuation = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

/**
 * The last whole characters of `bytes` that fit in `limit` bytes of UTF-8.
 * Invalid sequences become U+FFFD (three bytes each) before counting, so the
 * result is within the limit however broken the input was.
 */
export function utf8Tail(bytes: Buffer, limit: number): string {
  let raw = bytes.subarray(Math.max(0, bytes.length - limit));
  // A cut inside a character: drop its stray continuation bytes rather than turn them into U+FFFD.
  if (raw.length < bytes.length) for (let i = 0; i < 3 && isContinuation(raw[0]); i++) raw = raw.subarray(1);
  const encoded = Buffer.from(raw.toString('utf8'));
  if (encoded.length <= limit) return encoded.toString('utf8');
  let start = encoded.length - limit;
  while (isContinuation(encoded[start])) start++;
  return encoded.subarray(start).toString('utf8');
}
