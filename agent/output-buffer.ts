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

  /** The last 4 KB, cut on a character boundary. */
  lastBytes(): string {
    let slice = this.tail.subarray(Math.max(0, this.tail.length - OUTPUT_TAIL_BYTES));
    while (slice.length > 0 && ((slice[0] as number) & 0xc0) === 0x80) slice = slice.subarray(1);
    return slice.toString('utf8');
  }

  resetTail(): void {
    this.tail = Buffer.alloc(0);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.file.end(resolve));
  }
}
