import { type AccessDecision, type AccessRule, evaluateAccess } from '../domain/access.js';
import { ForbiddenError } from '../errors.js';
import { logger } from '../logger.js';
import type { AccessRulesRepository } from '../ports.js';

/** Checks one request against the stored rules and the admins from the deploy parameter. */
export class Authorizer {
  constructor(
    private readonly rules: AccessRulesRepository,
    private readonly admins: readonly string[],
  ) {}

  async decide(principal: string, action: string, resource: string): Promise<AccessDecision> {
    return evaluateAccess({ principal, action, resource }, await this.rules.list(), this.admins);
  }

  /** Throws ForbiddenError (logged, without anything secret) unless allowed; returns the granting rule. */
  async authorize(principal: string, action: string, resource: string): Promise<AccessRule | 'admin'> {
    const decision = await this.decide(principal, action, resource);
    if (decision.allowed) return decision.rule;
    logger.warn('Access denied', { principal, action, resource, reason: decision.reason });
    throw new ForbiddenError(`${principal} may not ${action} on ${resource} (${decision.reason})`);
  }
}
