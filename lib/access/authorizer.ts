import { type AccessDecision, type AccessRule, ADMIN_ONLY_ACTION_PREFIX, evaluateAccess, isAdmin, mayEverAllow } from '../domain/access.js';
import { ForbiddenError } from '../errors.js';
import { logger } from '../logger.js';
import type { AccessRulesRepository } from '../ports.js';

/** Checks requests against the stored rules and the admins from the deploy parameter. */
export class Authorizer {
  constructor(
    private readonly rules: AccessRulesRepository,
    private readonly admins: readonly string[],
  ) {}

  /** Admins are decided before any rule is read. */
  private async rulesFor(principal: string): Promise<readonly AccessRule[]> {
    return isAdmin(principal, this.admins) ? [] : this.rules.list();
  }

  async decide(principal: string, action: string, resource: string): Promise<AccessDecision> {
    return evaluateAccess({ principal, action, resource }, await this.rulesFor(principal), this.admins);
  }

  /**
   * Throws ForbiddenError (logged, without anything secret) unless allowed; returns
   * the granting rule. `shownAs` names the resource in the answer when its real
   * name (an item's application and group) must not be revealed. With `refusedAs`
   * (the answer for a missing item), a caller who holds some grant for the action
   * gets that answer instead of a 403, so a Deny looks exactly like an absence.
   */
  async authorize(principal: string, action: string, resource: string, shownAs = resource, refusedAs?: () => Error): Promise<AccessRule | 'admin'> {
    const rules = await this.rulesFor(principal);
    const decision = evaluateAccess({ principal, action, resource }, rules, this.admins);
    if (decision.allowed) return decision.rule;
    const error = denied(principal, action, resource, shownAs, decision.reason);
    throw refusedAs && mayEverAllow(principal, action, rules, this.admins) ? refusedAs() : error;
  }

  /** 403 unless the principal is an administrator, for acts no rule can grant; `act` names it ("set iamArn on instance/x"). */
  requireAdmin(principal: string, act: string): void {
    if (isAdmin(principal, this.admins)) return;
    logger.warn('Access denied', { principal, action: act, reason: 'administrators only' });
    throw new ForbiddenError(`${principal} may not ${act}: only administrators may (no access rule grants it)`);
  }

  /** 403 unless some rule could allow `action` to this principal at all. */
  async gate(principal: string, action: string, shownAs: string): Promise<void> {
    if (!mayEverAllow(principal, action, await this.rulesFor(principal), this.admins)) {
      throw denied(principal, action, '(any)', shownAs, 'no rule allows it');
    }
  }

  /**
   * For list routes: 403 unless some rule could allow `action`; then a predicate
   * that runs each item's resource through the same evaluation (a Deny hides it).
   */
  async visibility(principal: string, action: string, shownAs: string): Promise<(resource: string) => boolean> {
    const rules = await this.rulesFor(principal);
    if (!mayEverAllow(principal, action, rules, this.admins)) throw denied(principal, action, '(any)', shownAs, 'no rule allows it');
    return (resource) => evaluateAccess({ principal, action, resource }, rules, this.admins).allowed;
  }
}

/**
 * The reason (which rule) goes to the log only: an answer never names a rule, so
 * nobody maps the rules by probing. Only the fixed rule for managing rules is said.
 */
function denied(principal: string, action: string, resource: string, shownAs: string, reason: string): ForbiddenError {
  logger.warn('Access denied', { principal, action, resource, reason });
  const why = action.startsWith(ADMIN_ONLY_ACTION_PREFIX) ? ' (only administrators manage access rules)' : '';
  return new ForbiddenError(`${principal} may not ${action} on ${shownAs}${why}`);
}
