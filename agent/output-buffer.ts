import { createWriteStream, type WriteStream } from 'node:fs';
import { OUTPUT_TAIL_BYTES } from '../lib/domain/lifecycle.js';

/** Everything a deployment's hooks print: kept in full in a log file, and its last 4 KB in memory. */
export class OutputLog {
  private tail = Buffer.alloc(0);
  private readonly file: WriteStream;

  constructor(readonly path: string) {
    this.file = createWriteStream(path, { flags: 'a' });
  }

  write(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.file.write(bytes);
    this.tail = Buffer.concat([this.tail, bytes]);
    if (this.tail.length > OUTPUT_TAIL_BYTES * 2) this.tail = this.tail.subarray(this.tail.length - OUTPUT_TAIL_BYTES);
  }

  line(text: string): void {
    this.write(`[fleetline-agent] ${text}\n`);
  }

  /** The end of the output as the server takes it: at most OUTPUT_TAIL_BYTES of well-formed UTF-8. */
  lastBytes(): string {
    return utf8Tail(this.tail, OUTPUT_TAIL_BYTES);
  }

  resetTail(): void {
    this.tail = Buffer.alloc(0);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.file.end(resolve));
  }
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
