import { z } from 'zod';
import { type StepCounter, globMatch, patternProblem } from './glob.js';
import { parsePrincipal } from './identity.js';
import { schema } from './schema.js';

/**
 * Access rules, IAM-style: a rule allows or denies actions on resources to
 * principals; an explicit Deny beats any Allow, and nothing is allowed by default.
 *
 * Actions: `<service>:<verb>` (`deployments:create`, `pipelines:approve`, …), `*` wildcards.
 * Resources: `application/<app>`, `application/<app>/group/<group>`, `pipeline/<name>`,
 * `instance/<id>`, or a role ARN for `credentials:issue`; `*` matches any run of
 * characters, `?` one (see glob.ts: linear-time, bounded patterns).
 * Principals: ARN patterns, matched against the caller's ARN and, for an assumed role,
 * the role's own ARN (`arn:aws:iam::<account>:role/<name>`). A session's ARN does not
 * carry its role's path, so a role pattern is matched on the role's name alone:
 * `role/teams/contractor` and `role/contractor` name the same role.
 *
 * Administrators are decided before any rule: no rule applies to them, and only
 * they manage rules (`access:*` actions), so a rule can neither lock every admin
 * out nor grant its author more than it holds.
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

/** Actions no rule can grant: managing rules is for administrators only. */
export const ADMIN_ONLY_ACTION_PREFIX = 'access:';

const pattern = /* @__PURE__ */ schema(() => z.string().min(1, 'must not be empty').superRefine((value, ctx) => {
  const problem = patternProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}));
export const accessRuleBodySchema = /* @__PURE__ */ schema(() => z.strictObject({
  effect: z.enum(['Allow', 'Deny'], { error: 'must be Allow or Deny' }),
  principals: z.array(pattern.regex(/^(\*|arn:[^\s]+)$/, 'must be an ARN pattern or *')).min(1, 'name at least one principal').max(50),
  actions: z.array(pattern.regex(/^(\*|[a-z-]+:[A-Za-z*?-]+)$/, 'must look like service:verb (wildcards allowed)')).min(1, 'name at least one action').max(50),
  resources: z.array(pattern).min(1, 'name at least one resource').max(50),
  maxSessionSeconds: z.number().int().min(900, 'must be at least 900').max(43200, 'must be at most 43200').optional(),
  externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2-1224 characters of [\\w+=,.@:/-]').optional(),
  description: z.string().max(1024).optional(),
}));

export function matches(glob: string, value: string, counter?: StepCounter): boolean {
  return globMatch(glob, value, counter);
}

const ROLE_ARN = /^(arn:[^:]*:iam::[^:]*:role\/)(.*)$/s;

/** A role ARN (pattern) without its path: sessions only ever show the role's name. */
export function withoutRolePath(arn: string): string {
  const match = ROLE_ARN.exec(arn);
  if (!match) return arn;
  const rest = match[2] as string;
  return `${match[1]}${rest.slice(rest.lastIndexOf('/') + 1)}`;
}

/** The names a caller answers to: its own ARN and, for a role or an assumed role, the role's ARN without path. */
export function principalNames(arn: string): string[] {
  const principal = parsePrincipal(arn);
  const partition = arn.split(':')[1] ?? 'aws';
  if (principal?.kind === 'assumed-role') return [arn, `arn:${partition}:iam::${principal.account}:role/${principal.name}`];
  if (principal?.kind === 'role') {
    const bare = withoutRolePath(arn);
    return bare === arn ? [arn] : [arn, bare];
  }
  return [arn];
}

export function principalMatches(patterns: readonly string[], names: readonly string[], counter?: StepCounter): boolean {
  return patterns.some((p) => {
    const bare = withoutRolePath(p);
    return names.some((n) => matches(bare, n, counter) || (bare !== p && matches(p, n, counter)));
  });
}

export function isAdmin(principal: string, admins: readonly string[]): boolean {
  return principalMatches(admins, principalNames(principal));
}

function ruleApplies(rule: AccessRule, names: string[], request: AccessRequest, counter?: StepCounter): boolean {
  return (
    principalMatches(rule.principals, names, counter) &&
    rule.actions.some((a) => matches(a, request.action, counter)) &&
    rule.resources.some((r) => matches(r, request.resource, counter))
  );
}

/**
 * Admins (from the deploy parameter) are decided first and may do everything;
 * `access:*` is theirs alone; otherwise explicit Deny > Allow > default deny.
 */
export function evaluateAccess(
  request: AccessRequest,
  rules: readonly AccessRule[],
  admins: readonly string[],
  counter?: StepCounter,
): AccessDecision {
  if (isAdmin(request.principal, admins)) return { allowed: true, rule: 'admin' };
  if (request.action.startsWith(ADMIN_ONLY_ACTION_PREFIX)) return { allowed: false, reason: 'only administrators manage access rules' };
  const names = principalNames(request.principal);
  let allow: AccessRule | undefined;
  for (const rule of rules) {
    if (!ruleApplies(rule, names, request, counter)) continue;
    if (rule.effect === 'Deny') return { allowed: false, reason: `denied by rule ${rule.id}` };
    allow ??= rule;
  }
  return allow ? { allowed: true, rule: allow } : { allowed: false, reason: 'no rule allows it' };
}

/**
 * Whether any rule could allow this action to this principal on some resource:
 * the gate before a list is filtered item by item, and before a request whose
 * resource cannot be named yet (its input is invalid) is answered with a 400.
 */
export function mayEverAllow(principal: string, action: string, rules: readonly AccessRule[], admins: readonly string[]): boolean {
  if (isAdmin(principal, admins)) return true;
  if (action.startsWith(ADMIN_ONLY_ACTION_PREFIX)) return false;
  const names = principalNames(principal);
  const applicable = rules.filter((r) => principalMatches(r.principals, names) && r.actions.some((a) => matches(a, action)));
  // A Deny on every resource leaves nothing to allow.
  if (applicable.some((r) => r.effect === 'Deny' && r.resources.includes('*'))) return false;
  return applicable.some((r) => r.effect === 'Allow');
}
