/** The version of the HTTP API's contract; GET /config names it so a client can tell it speaks the same one. */
export const API_VERSION = '1';

/**
 * What GET /config tells a signed-in caller, so the CLI needs nothing but the
 * API's URL: where `deploy --bundle` uploads, in which region, the agents'
 * channel, and the API version. `s3Endpoint` only in local mode (the emulator).
 */
export interface ClientConfig {
  apiVersion: string;
  artifactBucket: string;
  region: string | null;
  channelUrl: string | null;
  s3Endpoint?: string;
}
