import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inTurn } from '../../lib/domain/in-turn.js';

describe('the order in which a reconcile pass takes the active deployments and executions', () => {
  it('holds every active deployment once, in the list’s order from some point on', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { maxLength: 30 }), fc.nat(), (active, now) => {
        const order = inTurn(active, now);
        expect([...order].sort()).toEqual([...active].sort());
        const start = active.indexOf(order[0] as string);
        expect(order).toEqual([...active.slice(start), ...active.slice(0, start)]);
      }),
    );
  });

  it('begins, over as many passes a minute apart as there are deployments, with each of them once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 30 }), fc.nat({ max: 1e12 }), (active, first) => {
        const firsts = active.map((_, pass) => inTurn(active, first + pass * 60_000)[0]);
        expect(new Set(firsts).size).toBe(active.length);
      }),
    );
  });
});
