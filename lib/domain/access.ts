import { z } from 'zod';
import { parsePrincipal } from './identity.js';

/**
 * Access rules, IAM-style: a rule allows or denies actions on resources to
 * principals; an explicit Deny beats any Allow, and nothing is allowed by default.
 *
 * Actions: `<service>:<verb>` (`deployments:create`, `pipelines:approve`, …), `*` wildcards.
 * Resources: `application/<app>`, `application/<app>/group/<group>`, `pipeline/<name>`,
 * `instance/<id>`, `access-rule/<id>`, or a role ARN for `credentials:issue`; `*` matches
 * any run of characters, `?` one.
 * Principals: ARN patterns, matched against the caller's ARN and, for an assumed role,
 * the role's own ARN (`arn:aws:iam::<account>:role/<name>`).
 */
export interface AccessRule {
  id: string;
  effect: 'Allow' | 'Deny';
  principals: string[];
  actions: string[];
  resources: string[];
  /** For credentials:issue: the longest session this rule grants. */
  maxSessionSeconds?: number | undefined;
  /** For credentials:issue: the ExternalId to pass to AssumeRole. */
  externalId?: string | undefined;
  description?: string | undefined;
}

export interface AccessRequest {
  principal: string;
  action: string;
  resource: string;
}

export type AccessDecision = { allowed: true; rule: AccessRule | 'admin' } | { allowed: false; reason: string };

const pattern = z.string().min(1).max(2048);
export const accessRuleBodySchema = z.strictObject({
  effect: z.enum(['Allow', 'Deny'], { error: 'must be Allow or Deny' }),
  principals: z.array(pattern.regex(/^(\*|arn:[^\s]+)$/, 'must be an ARN pattern or *')).min(1, 'name at least one principal').max(50),
  actions: z.array(pattern.regex(/^(\*|[a-z-]+:[A-Za-z*?-]+)$/, 'must look like service:verb (wildcards allowed)')).min(1, 'name at least one action').max(50),
  resources: z.array(pattern).min(1, 'name at least one resource').max(50),
  maxSessionSeconds: z.number().int().min(900, 'must be at least 900').max(43200, 'must be at most 43200').optional(),
  externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2-1224 characters of [\\w+=,.@:/-]').optional(),
  description: z.string().max(1024).optional(),
});

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 's');
}

export function matches(glob: string, value: string): boolean {
  return globToRegExp(glob).test(value);
}

/** The names a caller answers to: its own ARN and, for an assumed role, the role's ARN. */
export function principalNames(arn: string): string[] {
  const principal = parsePrincipal(arn);
  if (principal?.kind === 'assumed-role') {
    const partition = arn.split(':')[1] ?? 'aws';
    return [arn, `arn:${partition}:iam::${principal.account}:role/${principal.name}`];
  }
  return [arn];
}

function ruleApplies(rule: AccessRule, names: string[], request: AccessRequest): boolean {
  return (
    rule.principals.some((p) => names.some((n) => matches(p, n))) &&
    rule.actions.some((a) => matches(a, request.action)) &&
    rule.resources.some((r) => matches(r, request.resource))
  );
}

/** Admins (from the deploy parameter) may do everything; otherwise explicit Deny > Allow > default deny. */
export function evaluateAccess(request: AccessRequest, rules: readonly AccessRule[], admins: readonly string[]): AccessDecision {
  const names = principalNames(request.principal);
  const applicable = rules.filter((rule) => ruleApplies(rule, names, request));
  const admin = admins.some((a) => names.some((n) => matches(a, n)));
  // Admins can always manage rules, so no rule can lock every admin out.
  if (admin && request.action.startsWith('access:')) return { allowed: true, rule: 'admin' };
  const deny = applicable.find((rule) => rule.effect === 'Deny');
  if (deny) return { allowed: false, reason: `denied by rule ${deny.id}` };
  if (admin) return { allowed: true, rule: 'admin' };
  const allow = applicable.find((rule) => rule.effect === 'Allow');
  if (allow) return { allowed: true, rule: allow };
  return { allowed: false, reason: 'no rule allows it' };
}
