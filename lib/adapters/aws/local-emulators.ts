interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** DynamoDB Local and s3rver accept only these fixed keys (s3rver's defaults). */
export const LOCAL_EMULATOR_CREDENTIALS: StaticCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * A service endpoint on loopback is a local emulator, never AWS: only that
 * client gets the emulator's keys, so STS and EC2 keep the caller's own
 * credential chain (profile, SSO, environment) in local mode.
 */
export function emulatorCredentials(endpoint: string | undefined): { credentials?: StaticCredentials } {
  if (!endpoint) return {};
  try {
    return LOOPBACK.has(new URL(endpoint).hostname) ? { credentials: LOCAL_EMULATOR_CREDENTIALS } : {};
  } catch {
    return {};
  }
}
