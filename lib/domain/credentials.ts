import { z } from 'zod';
import { roleArnSchema } from './names.js';
import { parsePrincipal } from './identity.js';
import { schema } from './schema.js';

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
export const DEFAULT_SESSION_SECONDS = 3600;
const MAX_POLICY_CHARS = 2048;

export const credentialsBodySchema = /* @__PURE__ */ schema(() => z.strictObject({
  roleArn: roleArnSchema,
  durationSeconds: z
    .number({ error: 'must be a number of seconds' })
    .int('must be whole seconds')
    .min(MIN_SESSION_SECONDS, `must be at least ${MIN_SESSION_SECONDS}`)
    .max(MAX_SESSION_SECONDS, `must be at most ${MAX_SESSION_SECONDS}`)
    .optional(),
  /** A suffix to the session name, which always starts with the caller: `fl-<caller>-<sessionName>`. */
  sessionName: z.string().regex(/^[\w+=,.@-]{1,32}$/, 'must be 1-32 characters from A-Z a-z 0-9 _ + = , . @ - (it is appended to the caller)').optional(),
  policy: z
    .string({ error: 'must be a JSON policy document as a string' })
    .max(MAX_POLICY_CHARS, `must be at most ${MAX_POLICY_CHARS} characters`)
    .refine((text) => {
      try {
        const doc = JSON.parse(text) as unknown;
        return typeof doc === 'object' && doc !== null && !Array.isArray(doc);
      } catch {
        return false;
      }
    }, 'must be a JSON object (an IAM policy document)')
    .optional(),
}));
export type CredentialsRequest = z.output<typeof credentialsBodySchema>;

/**
 * The session length: the request's, or 1 hour (capped by the rule) when it names
 * none. A request above the granting rule's maximum is refused, never shortened.
 */
export function sessionDuration(requested: number | undefined, ruleMaximum: number | undefined): number | { problem: string } {
  const ceiling = Math.min(MAX_SESSION_SECONDS, ruleMaximum ?? MAX_SESSION_SECONDS);
  if (requested === undefined) return Math.min(DEFAULT_SESSION_SECONDS, ceiling);
  if (requested > ceiling) return { problem: `must be at most ${ceiling}, the longest session the granting rule allows` };
  return requested;
}

const stsSafe = (text: string, max: number) => text.replace(/[^\w+=,.@-]/g, '-').slice(0, max);

/** Who asked, in the forms STS accepts: session name (≤ 64) and SourceIdentity (≤ 64). */
export function callerIdentity(callerArn: string): { sessionName: string; sourceIdentity: string } {
  const principal = parsePrincipal(callerArn);
  const who = principal?.session ? `${principal.name}@${principal.session}` : (principal?.name ?? 'unknown');
  return { sessionName: stsSafe(`fl-${who}`, 64), sourceIdentity: stsSafe(who, 64).padEnd(2, '-') };
}

/** The session name: the caller's, plus the caller's suffix if it fits STS's 64 characters. */
export function sessionNameFor(callerArn: string, suffix: string | undefined): string | { problem: string } {
  const base = callerIdentity(callerArn).sessionName;
  if (suffix === undefined) return base;
  const room = 64 - base.length - 1;
  if (suffix.length > room) return { problem: room > 0 ? `must be at most ${room} characters for this caller (it is appended to ${base})` : `cannot be added: ${base} already fills the 64 characters STS allows` };
  return `${base}-${suffix}`;
}

/** The partition of a region (where Fleetline runs decides which ARNs it can use). */
export function partitionOf(region: string | undefined): string {
  if (region?.startsWith('cn-')) return 'aws-cn';
  if (region?.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
  assumedRoleArn: string;
}
