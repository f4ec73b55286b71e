import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputLog, utf8Tail } from '../../agent/output-buffer.js';
import { agentReportSchema } from '../../lib/domain/agent-report.js';
import { OUTPUT_TAIL_BYTES } from '../../lib/domain/lifecycle.js';

const accepted = (outputTail: string) =>
  agentReportSchema.safeParse({ instanceId: 'i-1', deploymentId: 'd-AAAAAAAAA', event: 'ApplicationStart', status: 'Failed', outputTail }).success;

describe('output tails', () => {
  it('a hook printing 4 KB of invalid UTF-8 gives a tail the server accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetline-tail-'));
    try {
      const log = new OutputLog(join(dir, 'log.txt'));
      log.write(Buffer.alloc(4096, 0xff));
      const tail = log.lastBytes();
      await log.close();
      expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(OUTPUT_TAIL_BYTES);
      expect(tail.endsWith('\uFFFD')).toBe(true);
      expect(accepted(tail)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the last whole characters within the byte limit', () => {
    const text = `${'é'.repeat(3000)}end`;
    const tail = utf8Tail(Buffer.from(text), 4096);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(4096);
    expect(text.endsWith(tail)).toBe(true);
    expect(tail.startsWith('é')).toBe(true);
    expect(Buffer.byteLength(tail)).toBeGreaterThan(4096 - 4);
  });

  it('any bytes at all give a tail of at most the limit that ends the replaced output', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000 }), fc.integer({ min: 4, max: 5000 }), (bytes, limit) => {
        const buffer = Buffer.from(bytes);
        const tail = utf8Tail(buffer, limit);
        expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(limit);
        expect(Buffer.from(tail).toString('utf8')).toBe(tail); // well-formed: survives a round trip
        if (buffer.length > 0) expect(tail.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
