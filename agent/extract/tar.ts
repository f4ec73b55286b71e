import type { ArchiveEntry } from '../../lib/domain/archive-entry.js';
import { BundleIntegrityError } from './errors.js';
import type { BundleWriter } from './writer.js';

const BLOCK = 512;
/** Long names and pax records are metadata: a few KB in real archives. */
const MAX_META_BYTES = 64 * 1024;

/**
 * Reads a tar stream (ustar, pax and GNU long names) entry by entry and feeds
 * each to the writer as it arrives, so memory stays flat whatever the size.
 * Every byte of the expanded stream counts against the budget, headers included.
 */
export async function readTar(source: AsyncIterable<Buffer>, writer: BundleWriter): Promise<void> {
  const input = new BlockReader(source);
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let last = '(start of archive)';
  for (;;) {
    const header = await input.read(BLOCK, last);
    if (!header) throw new BundleIntegrityError(`the tar archive is truncated after entry ${JSON.stringify(last)} (no end-of-archive marker)`);
    writer.consume(BLOCK, last);
    if (header.every((b) => b === 0)) break;
    const h = parseHeader(header, last);
    const path = pax.path ?? longName ?? h.path;
    const size = pax.size !== undefined ? Number(pax.size) : h.size;
    if (!Number.isSafeInteger(size) || size < 0) throw new BundleIntegrityError(`entry ${JSON.stringify(path)}: invalid size`);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;

    if (h.type === 'x' || h.type === 'g' || h.type === 'L' || h.type === 'K') {
      if (size > MAX_META_BYTES) throw new BundleIntegrityError(`entry ${JSON.stringify(path)}: a ${size}-byte extended header is too large`);
      const meta = await input.read(size + padding, path);
      if (!meta) throw new BundleIntegrityError(`the tar archive is truncated inside the header of ${JSON.stringify(path)}`);
      writer.consume(size + padding, path);
      const text = meta.subarray(0, size).toString('utf8');
      if (h.type === 'x') pax = { ...pax, ...parsePax(text, path) };
      else if (h.type === 'L') longName = text.replace(/\0.*$/s, '');
      else if (h.type === 'K') longLink = text.replace(/\0.*$/s, '');
      continue; // global headers ('g') carry nothing the agent uses
    }

    const type = typeOf(h.type);
    const entry = { path, type, mode: h.mode, linkTarget: pax.linkpath ?? longLink ?? h.linkTarget, declaredSize: size };
    pax = {};
    longName = longLink = undefined;
    last = path;
    if (type === 'file') {
      await writer.add(entry, input.body(size, path));
      await skip(input, padding, writer, path);
    } else {
      await writer.add({ ...entry, declaredSize: undefined });
      await skip(input, size + padding, writer, path);
    }
  }
  writer.finish();
}

async function skip(input: BlockReader, bytes: number, writer: BundleWriter, path: string): Promise<void> {
  writer.expect(bytes, path);
  for await (const chunk of input.body(bytes, path)) writer.consume(chunk.length, path);
}

interface Header {
  path: string;
  size: number;
  mode: number;
  type: string;
  linkTarget: string;
}

function parseHeader(block: Buffer, previous: string): Header {
  const stored = octal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  if (stored !== sum) throw new BundleIntegrityError(`not a valid tar archive: bad header checksum after entry ${JSON.stringify(previous)}`);
  const name = text(block.subarray(0, 100));
  const ustar = block.subarray(257, 263).toString('latin1') === 'ustar\0';
  const prefix = ustar ? text(block.subarray(345, 500)) : '';
  return {
    path: prefix ? `${prefix}/${name}` : name,
    size: numeric(block.subarray(124, 136)),
    mode: octal(block.subarray(100, 108)) & 0o7777,
    type: String.fromCharCode(block[156] as number),
    linkTarget: text(block.subarray(157, 257)),
  };
}

function typeOf(flag: string): ArchiveEntry['type'] {
  if (flag === '0' || flag === '\0' || flag === '7') return 'file';
  if (flag === '1') return 'hardlink';
  if (flag === '2') return 'symlink';
  if (flag === '5') return 'directory';
  return 'other'; // devices ('3', '4'), FIFOs ('6'), sparse and vendor types
}

const text = (field: Buffer) => {
  const end = field.indexOf(0);
  return (end === -1 ? field : field.subarray(0, end)).toString('utf8');
};

function octal(field: Buffer): number {
  const digits = text(field).trim();
  return digits === '' ? 0 : Number.parseInt(digits, 8);
}

/** Sizes are octal, or base-256 when the top bit is set (GNU, for files past 8 GiB). */
function numeric(field: Buffer): number {
  if (((field[0] as number) & 0x80) === 0) return octal(field);
  let value = (field[0] as number) & 0x7f;
  for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number);
  return value;
}

function parsePax(body: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = body;
  while (rest.length > 0) {
    const space = rest.indexOf(' ');
    const length = Number(rest.slice(0, space));
    const record = Buffer.from(rest, 'utf8').subarray(0, length).toString('utf8');
    if (space <= 0 || !Number.isInteger(length) || length <= space || !record.endsWith('\n')) {
      throw new BundleIntegrityError(`entry ${JSON.stringify(path)}: malformed pax header`);
    }
    const [key, ...value] = record.slice(space + 1, -1).split('=');
    if (key === 'path' || key === 'linkpath' || key === 'size') out[key] = value.join('=');
    rest = rest.slice(record.length);
  }
  return out;
}

/** Exact-size reads over a chunked stream, buffering at most one chunk plus a block. */
class BlockReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(path: string): Promise<boolean> {
    if (this.done) return false;
    let next: IteratorResult<Buffer>;
    try {
      next = await this.iterator.next();
    } catch (error) {
      throw new BundleIntegrityError(`the archive is corrupt or truncated near entry ${JSON.stringify(path)}: ${(error as Error).message}`);
    }
    if (next.done) {
      this.done = true;
      return false;
    }
    this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
    return true;
  }

  /** Exactly `n` bytes (n is small), or undefined at a clean end of input. */
  async read(n: number, path: string): Promise<Buffer | undefined> {
    while (this.pending.length < n) {
      if (!(await this.fill(path))) {
        if (this.pending.length === 0) return undefined;
        throw new BundleIntegrityError(`the tar archive is truncated inside entry ${JSON.stringify(path)}`);
      }
    }
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  /** The next `n` bytes as they arrive. */
  async *body(n: number, path: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.fill(path))) {
        throw new BundleIntegrityError(`the tar archive is truncated inside entry ${JSON.stringify(path)}`);
      }
      const take = this.pending.subarray(0, Math.min(left, this.pending.length));
      this.pending = this.pending.subarray(take.length);
      left -= take.length;
      yield take;
    }
  }
}
