import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDeploymentBodySchema } from '../../lib/domain/deployment.js';
import { ENGINE_TOKEN_OWNER, catchUpToken, isEngineToken, pipelineActionToken, rollbackToken, scopedToken } from '../../lib/domain/engine-tokens.js';

const body = (idempotencyToken: string) => ({ application: 'web', group: 'prod', revision: { bucket: 'fleetline-artifacts', key: 'web/app.zip' }, idempotencyToken });
const deploymentId = fc.stringMatching(/^d-[A-Z0-9]{9}$/);
const executionId = fc.stringMatching(/^e-[0-9a-f]{16}$/);

describe('the idempotency tokens of the deployments Fleetline creates itself', () => {
  it('are refused in a request, naming the field: a caller could otherwise take a rollback’s, a pipeline action’s or a catch-up’s place', () => {
    const instanceId = fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/);
    const catchUp = fc.tuple(deploymentId, instanceId).map(([d, i]) => catchUpToken(d, i));
    fc.assert(
      fc.property(fc.oneof(deploymentId.map(rollbackToken), fc.tuple(executionId, fc.nat(19), fc.nat(19), fc.nat(99)).map((t) => pipelineActionToken(...t)), catchUp), (token) => {
        expect(isEngineToken(token)).toBe(true);
        const parsed = createDeploymentBodySchema.safeParse(body(token));
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['idempotencyToken']);
      }),
    );
  });

  it('leave every other printable token to callers', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{1,64}$/).filter((t) => !t.startsWith('rollback-of-') && !t.startsWith('catch-up-') && !/^e-[0-9a-f]{16}\./.test(t)), (token) => {
        expect(createDeploymentBodySchema.safeParse(body(token)).success).toBe(true);
      }),
    );
    expect(createDeploymentBodySchema.safeParse(body('build-2')).success).toBe(true);
  });
});

describe('who a token belongs to', () => {
  it("the engine's tokens are the engine's whoever the deployment is created for; every other token is its caller's", () => {
    const caller = fc.string({ minLength: 1 });
    fc.assert(
      fc.property(deploymentId.map(rollbackToken), caller, (token, who) => {
        expect(scopedToken(token, who)).toEqual({ owner: ENGINE_TOKEN_OWNER, token });
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{1,64}$/).filter((t) => !isEngineToken(t)), caller, (token, who) => {
        expect(scopedToken(token, who)).toEqual({ owner: who, token });
      }),
    );
  });
});
