import { z } from 'zod';
import { roleArnSchema } from './names.js';
import { parsePrincipal } from './identity.js';

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
export const DEFAULT_SESSION_SECONDS = 3600;
const MAX_POLICY_CHARS = 2048;

export const credentialsBodySchema = z.strictObject({
  roleArn: roleArnSchema,
  durationSeconds: z
    .number({ error: 'must be a number of seconds' })
    .int('must be whole seconds')
    .min(MIN_SESSION_SECONDS, `must be at least ${MIN_SESSION_SECONDS}`)
    .max(MAX_SESSION_SECONDS, `must be at most ${MAX_SESSION_SECONDS}`)
    .optional(),
  sessionName: z.string().regex(/^[\w+=,.@-]{2,64}$/, 'must be 2-64 characters from A-Z a-z 0-9 _ + = , . @ -').optional(),
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
});
export type CredentialsRequest = z.output<typeof credentialsBodySchema>;

/** The requested duration, within STS's bounds and the granting rule's maximum. */
export function clampDuration(requested: number | undefined, ruleMaximum: number | undefined): number {
  const ceiling = Math.min(MAX_SESSION_SECONDS, ruleMaximum ?? MAX_SESSION_SECONDS);
  return Math.max(MIN_SESSION_SECONDS, Math.min(requested ?? DEFAULT_SESSION_SECONDS, ceiling));
}

const stsSafe = (text: string, max: number) => text.replace(/[^\w+=,.@-]/g, '-').slice(0, max);

/** Who asked, in the forms STS accepts: session name (≤ 64) and SourceIdentity (≤ 64). */
export function callerIdentity(callerArn: string): { sessionName: string; sourceIdentity: string } {
  const principal = parsePrincipal(callerArn);
  const who = principal?.session ? `${principal.name}@${principal.session}` : (principal?.name ?? 'unknown');
  return { sessionName: stsSafe(`fl-${who}`, 64), sourceIdentity: stsSafe(who, 64).padEnd(2, '-') };
}

/** Whether a role ARN lies under the IAM path Fleetline may assume (defence in depth beside its own IAM policy). */
export function underRolePath(roleArn: string, path: string): boolean {
  const resource = roleArn.split(':')[5] ?? '';
  return resource.startsWith(`role${path}`);
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
  assumedRoleArn: string;
}
