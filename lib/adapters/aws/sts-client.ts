import type { STSClient } from '@aws-sdk/client-sts';
import { type Lazy, lazy } from './lazy.js';

/**
 * STS, imported and built on first use. Only the functions whose role may
 * assume roles import this module, so the others' zips hold no STS client.
 * It keeps the caller's own credentials: STS is never an emulator.
 */
export function createStsClient(): Lazy<STSClient> {
  return lazy(async () => new (await import('@aws-sdk/client-sts')).STSClient({}));
}
