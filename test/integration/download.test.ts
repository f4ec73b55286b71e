import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleIntegrityError } from '../../agent/archive.js';
import { downloadBundle } from '../../agent/download.js';

const body = Buffer.from('bundle bytes '.repeat(100));
const md5 = createHash('md5').update(body).digest('hex');
const sha256 = createHash('sha256').update(body).digest('hex');
const swapped = Buffer.from('BUNDLE bytes '.repeat(100));
const MULTIPART_TAG = `${'9'.repeat(32)}-2`;
let server: Server;
let base: string;
const dir = mkdtempSync(join(tmpdir(), 'fleetline-download-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/good') res.writeHead(200, { etag: `"${md5}"`, 'content-length': body.length }).end(body);
    else if (req.url === '/no-etag') res.writeHead(200, { 'content-length': body.length }).end(body);
    // A multipart upload's ETag, the same whatever the bytes: what a swap of equal size and ETag form serves.
    else if (req.url === '/multipart') res.writeHead(200, { etag: `"${MULTIPART_TAG}"`, 'content-length': body.length }).end(body);
    else if (req.url === '/multipart-swapped') res.writeHead(200, { etag: `"${MULTIPART_TAG}"`, 'content-length': body.length }).end(swapped);
    else if (req.url === '/corrupt') res.writeHead(200, { etag: `"${md5}"` }).end(Buffer.concat([body.subarray(1), Buffer.from('!')]));
    else if (req.url === '/short') {
      res.writeHead(200, { 'content-length': body.length * 2 });
      res.write(body);
      res.destroy();
    } else res.writeHead(403).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('downloading a bundle', () => {
  it('verifies size, ETag and SHA-256', async () => {
    await downloadBundle(`${base}/good`, join(dir, 'a'), { eTag: `"${md5}"`, size: body.length, sha256 }, 1e6);
    expect(readFileSync(join(dir, 'a'))).toEqual(body);
  });

  it('rejects bytes that do not match the ETag S3 sent', async () => {
    await expect(downloadBundle(`${base}/corrupt`, join(dir, 'b'), {}, 1e6)).rejects.toThrow(BundleIntegrityError);
  });

  it('rejects a bundle whose expected ETag or SHA-256 differs', async () => {
    await expect(downloadBundle(`${base}/no-etag`, join(dir, 'c'), { eTag: '0'.repeat(32) }, 1e6)).rejects.toThrow(/does not match its ETag/);
    await expect(downloadBundle(`${base}/good`, join(dir, 'c'), { eTag: '0'.repeat(32) }, 1e6)).rejects.toThrow(/does not match its ETag/);
    await expect(downloadBundle(`${base}/good`, join(dir, 'd'), { sha256: 'f'.repeat(64) }, 1e6)).rejects.toThrow(/SHA-256/);
  });

  it('checks a multipart ETag bundle by its size and SHA-256, and refuses one it cannot verify', async () => {
    const expected = { eTag: `"${MULTIPART_TAG}"`, size: body.length, sha256 };
    await downloadBundle(`${base}/multipart`, join(dir, 'm1'), expected, 1e6);
    expect(readFileSync(join(dir, 'm1'))).toEqual(body);
    // Same size, same ETag, other bytes: only the SHA-256 tells.
    await expect(downloadBundle(`${base}/multipart-swapped`, join(dir, 'm2'), expected, 1e6)).rejects.toThrow(/does not match its SHA-256/);
    await expect(downloadBundle(`${base}/multipart`, join(dir, 'm3'), { ...expected, size: body.length + 1 }, 1e6)).rejects.toThrow(BundleIntegrityError);
    await expect(downloadBundle(`${base}/multipart-swapped`, join(dir, 'm4'), { eTag: expected.eTag, size: body.length }, 1e6)).rejects.toThrow(
      /multipart upload's, which is no hash of its content, and no SHA-256 came with it/,
    );
    // Nothing expected at all but S3's own multipart ETag: still nothing proves the bytes.
    await expect(downloadBundle(`${base}/multipart`, join(dir, 'm5'), {}, 1e6)).rejects.toThrow(BundleIntegrityError);
  });

  it('rejects a truncated transfer and an oversized one', async () => {
    await expect(downloadBundle(`${base}/short`, join(dir, 'e'), {}, 1e6)).rejects.toThrow();
    await expect(downloadBundle(`${base}/good`, join(dir, 'f'), {}, 100)).rejects.toThrow(/larger than 100 bytes/);
  });

  it('reports an HTTP refusal', async () => {
    await expect(downloadBundle(`${base}/expired`, join(dir, 'g'), {}, 1e6)).rejects.toThrow(/HTTP 403/);
  });
});
