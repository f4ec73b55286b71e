import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';

/**
 * Archives written byte by byte, exactly as given: an attacker's tool does not
 * refuse `../x`, duplicate names or device entries, so neither does this one.
 */
export interface RawEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo' | 'chardev';
  content?: string | Buffer;
  /** Link target (symlink: from its folder; hard link: from the root). */
  target?: string;
  mode?: number;
}

const body = (e: RawEntry): Buffer =>
  e.type === 'symlink' ? Buffer.from(e.target ?? '') : e.type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);

// ---- tar ----

const TAR_TYPE: Record<RawEntry['type'], string> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', directory: '5', fifo: '6' };

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function tarHeader(name: string, type: string, size: number, mode: number, link = ''): Buffer {
  const block = Buffer.alloc(512);
  block.write(name.slice(0, 100), 0, 'utf8');
  block.write(octal(mode, 8), 100);
  block.write(octal(0, 8), 108);
  block.write(octal(0, 8), 116);
  block.write(octal(size, 12), 124);
  block.write(octal(0, 12), 136);
  block.write('        ', 148);
  block.write(type, 156);
  block.write(link.slice(0, 100), 157, 'utf8');
  block.write('ustar\0', 257);
  block.write('00', 263);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function paxRecord(key: string, value: string): string {
  const text = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(text) + 1;
  while (String(length).length + Buffer.byteLength(text) !== length) length++;
  return `${length}${text}`;
}

/** A ustar archive; names or link targets past 100 bytes go in a pax header, as GNU tar and node-tar write them. */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const link = e.type === 'symlink' || e.type === 'hardlink' ? (e.target ?? '') : '';
    const name = e.type === 'directory' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100) {
      const pax = Buffer.from(paxRecord('path', name) + (link ? paxRecord('linkpath', link) : ''));
      parts.push(tarHeader('PaxHeader', 'x', pax.length, 0o644), pad(pax));
    }
    parts.push(tarHeader(name, TAR_TYPE[e.type], data.length, e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), link), pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const rawTgz = (entries: RawEntry[]): Buffer => gzipSync(rawTar(entries));

// ---- zip ----

const UNIX_KIND: Record<RawEntry['type'], number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  hardlink: 0o100000,
  fifo: 0o010000,
  chardev: 0o020000,
};

interface ZipMember {
  name: Buffer;
  data: Buffer;
  method: 0 | 8;
  crc: number;
  size: number;
  externalMode: number;
}

function zipArchive(members: ZipMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(m.method, 8);
    local.writeUInt32LE(m.crc >>> 0, 14);
    local.writeUInt32LE(m.data.length, 18);
    local.writeUInt32LE(m.size, 22);
    local.writeUInt16LE(m.name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(m.method, 10);
    central.writeUInt32LE(m.crc >>> 0, 16);
    central.writeUInt32LE(m.data.length, 20);
    central.writeUInt32LE(m.size, 24);
    central.writeUInt16LE(m.name.length, 28);
    central.writeUInt32LE((m.externalMode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, m.name, m.data);
    centrals.push(central, m.name);
    offset += 30 + m.name.length + m.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A zip made on Unix: file type and mode in the external attributes, as Info-ZIP stores them. */
export function rawZip(entries: RawEntry[]): Buffer {
  return zipArchive(
    entries.map((e) => {
      const data = body(e);
      const name = e.type === 'directory' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
      return {
        name: Buffer.from(name),
        data: deflateRawSync(data),
        method: 8,
        crc: crc32(data),
        size: data.length,
        externalMode: UNIX_KIND[e.type] | (e.mode ?? (e.type === 'directory' ? 0o755 : 0o644)),
      };
    }),
  );
}

/** Deflate data for `mib` MiB of zeros (about 1 KB per MiB), built without holding the expanded bytes. */
function zeroDeflate(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1024 ** 2), { finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array.from({ length: mib }, () => block), deflateRawSync(Buffer.alloc(0))]);
}

/** A zip bomb: one entry declaring (truthfully) `mib` MiB of zeros. */
export function zipBomb(mib: number, declaredBytes = mib * 1024 ** 2): Buffer {
  return zipArchive([
    { name: Buffer.from('appspec.yml'), data: deflateRawSync(Buffer.from('version: 0.0\n')), method: 8, crc: crc32('version: 0.0\n'), size: 13, externalMode: 0o100644 },
    { name: Buffer.from('zeros.bin'), data: zeroDeflate(mib), method: 8, crc: 0, size: Math.min(declaredBytes, 0xffffffff), externalMode: 0o100644 },
  ]);
}

/** A gzip bomb: a tgz whose only file is `mib` MiB of zeros, gzipped without holding them in memory. */
export function gzipBomb(mib: number): Buffer {
  const header = tarHeader('zeros.bin', '0', mib * 1024 ** 2, 0o644);
  const gzipHead = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const head = deflateRawSync(header, { finishFlush: constants.Z_FULL_FLUSH });
  const deflate = Buffer.concat([head, zeroDeflate(mib + 1)]);
  return Buffer.concat([gzipHead, deflate, Buffer.alloc(8)]); // the trailer's CRC is never reached
}

/** A tgz of `files` files of 1 MiB of zeros each: honest headers, so only the bytes written can stop it. */
export function gzipManyBomb(files: number): Buffer {
  const gzipHead = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const zeros = deflateRawSync(Buffer.alloc(1024 ** 2), { finishFlush: constants.Z_FULL_FLUSH });
  const parts: Buffer[] = [gzipHead];
  for (let i = 0; i < files; i++) parts.push(deflateRawSync(tarHeader(`f${i}.bin`, '0', 1024 ** 2, 0o644), { finishFlush: constants.Z_FULL_FLUSH }), zeros);
  parts.push(deflateRawSync(Buffer.alloc(1024)), Buffer.alloc(8));
  return Buffer.concat(parts);
}
