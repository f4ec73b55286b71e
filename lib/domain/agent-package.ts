import { AGENT_PACKAGE_PREFIX } from './artifact-location.js';

/**
 * Where the stack publishes the single-file agent in its artifact bucket (at
 * every `osls deploy`): one object per agent version, and beside it a text
 * object holding the object's hex SHA-256. The prefix is reserved (never a
 * revision); the agent role may read it only, and deployers may not write it.
 */

export const agentObjectKey = (version: string): string => `${AGENT_PACKAGE_PREFIX}fleetline-agent-${version}.mjs`;

export const agentChecksumKey = (version: string): string => `${agentObjectKey(version)}.sha256`;

export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
