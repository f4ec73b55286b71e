import { createHash } from 'node:crypto';
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
const MAX_SESSION_NAME = 64;
const STS_NAME = /^[\w+=,.@-]{2,64}$/;

/** Who asked, in the form STS takes for SourceIdentity (≤ 64): the caller's name and session. */
export function callerIdentity(callerArn: string): { sourceIdentity: string } {
  const principal = parsePrincipal(callerArn);
  const who = principal?.session ? `${principal.name}@${principal.session}` : (principal?.name ?? 'unknown');
  return { sourceIdentity: stsSafe(who, 64).padEnd(2, '-') };
}

/** A part of a session name with its separators escaped: `=` → `==`, `@` → `=@`, `,` → `=,`. */
const escapePart = (part: string) => part.replace(/[=@,]/g, (c) => `=${c}`);

/**
 * `fl-<account>-<name>[@<session>][,<suffix>]` for a user or an assumed-role
 * session: the account has a fixed length and every separator inside a part is
 * escaped, so the name decodes to exactly one caller and suffix. Undefined for
 * other principals.
 */
function readableSessionName(callerArn: string, suffix: string | undefined): string | undefined {
  const principal = parsePrincipal(callerArn);
  if (!principal || (principal.kind !== 'user' && principal.kind !== 'assumed-role')) return undefined;
  const session = principal.session === undefined ? '' : `@${escapePart(principal.session)}`;
  return `fl-${principal.account}-${escapePart(principal.name)}${session}${suffix === undefined ? '' : `,${escapePart(suffix)}`}`;
}

/**
 * For what has no readable form within STS's 64 characters: `fh-` (never a
 * readable name's start), 96 bits of a SHA-256 of what it stands for, then as
 * much of a readable hint as fits.
 */
function hashedSessionName(identity: readonly unknown[], hint: string): string {
  const head = `fh-${createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 24)}`;
  const tail = stsSafe(hint, MAX_SESSION_NAME - head.length - 1);
  return tail ? `${head}-${tail}` : head;
}

/**
 * The session name: the caller's own, plus the caller's suffix, unique per caller
 * and suffix. A suffix that does not fit beside a readable name is refused; a
 * caller whose own name does not fit gets the hashed form, suffix included.
 */
export function sessionNameFor(callerArn: string, suffix: string | undefined): string | { problem: string } {
  const base = readableSessionName(callerArn, undefined);
  if (base === undefined || !STS_NAME.test(base)) {
    const hint = `${callerIdentity(callerArn).sourceIdentity}${suffix === undefined ? '' : `,${suffix}`}`;
    return hashedSessionName(['caller', callerArn, suffix ?? null], hint);
  }
  if (suffix === undefined) return base;
  const named = readableSessionName(callerArn, suffix) as string;
  if (named.length <= MAX_SESSION_NAME) return named;
  const room = MAX_SESSION_NAME - base.length - 1;
  return {
    problem: room > 0
      ? `must be at most ${room} characters for this caller, each = @ , counting twice (it is appended to ${base})`
      : `cannot be added: ${base} already fills the 64 characters STS allows`,
  };
}

const DEPLOYMENT_ID = /^d-[A-Z0-9]{9}$/;

/** Hook credentials' session: `fl-<deployment>-<instance>` (the deployment ID has a fixed length), hashed when that does not fit. */
export function hookSessionName(deploymentId: string, instanceId: string): string {
  const readable = `fl-${deploymentId}-${instanceId}`;
  if (DEPLOYMENT_ID.test(deploymentId) && STS_NAME.test(readable)) return readable;
  return hashedSessionName(['hook', deploymentId, instanceId], `${deploymentId}-${instanceId}`);
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
