/** How far a bundle may expand on the host (agent options --max-expanded-bytes, --max-expansion-ratio). */
export interface ExtractLimits {
  /** Absolute cap on the bytes an archive may expand to. */
  maxBytes: number;
  /** Cap on expanded bytes per compressed byte of the archive file. */
  maxRatio: number;
  maxEntries: number;
}

export const DEFAULT_LIMITS: ExtractLimits = { maxBytes: 2 * 1024 ** 3, maxRatio: 200, maxEntries: 100_000 };

/** Bundles smaller than this may expand to it whatever their ratio (a tiny bundle of text compresses well). */
export const RATIO_FLOOR_BYTES = 1024 ** 2;

/** The byte budget of one archive, and the message shown when an entry goes past it. */
export function expansionBudget(limits: ExtractLimits, compressedBytes: number): { bytes: number; exceeded: (path: string) => string } {
  const byRatio = Math.max(RATIO_FLOOR_BYTES, limits.maxRatio * compressedBytes);
  if (byRatio < limits.maxBytes) {
    return {
      bytes: byRatio,
      exceeded: (path) =>
        `entry ${JSON.stringify(path)}: the archive expands past ${limits.maxRatio} times its compressed size ` +
        `(${compressedBytes} bytes → over ${byRatio} bytes); a genuine bundle this compressible needs a higher --max-expansion-ratio`,
    };
  }
  return {
    bytes: limits.maxBytes,
    exceeded: (path) =>
      `entry ${JSON.stringify(path)}: the archive expands past ${limits.maxBytes} bytes (the agent's --max-expanded-bytes limit)`,
  };
}
