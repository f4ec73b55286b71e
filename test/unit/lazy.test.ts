import { describe, expect, it } from 'vitest';
import { lazy, lazyPort, unwiredPort } from '../../lib/adapters/aws/lazy.js';
import { AdapterNotWiredError } from '../../lib/errors.js';

interface Greeter {
  greet(name: string): Promise<string>;
}

describe('lazily loaded adapters', () => {
  it('load the adapter once, on the first call, however many calls race for it', async () => {
    let loads = 0;
    const port = lazyPort<Greeter>(async () => {
      loads++;
      return { greet: async (name) => `hello ${name}` };
    });
    expect(loads).toBe(0);
    expect(await Promise.all([port.greet('a'), port.greet('b')])).toEqual(['hello a', 'hello b']);
    expect(await port.greet('c')).toBe('hello c');
    expect(loads).toBe(1);
  });

  it('retry the load on the next call when a load failed, instead of caching the failure', async () => {
    let attempts = 0;
    const value = lazy(async () => {
      attempts++;
      if (attempts === 1) throw new Error('chunk missing');
      return 42;
    });
    await expect(value()).rejects.toThrow('chunk missing');
    expect(await value()).toBe(42);
    expect(attempts).toBe(2);
  });

  it('keep `this` bound to the adapter and reject a method the adapter does not have', async () => {
    class Counter {
      private n = 0;
      async next() {
        return ++this.n;
      }
    }
    const port = lazyPort<{ next(): Promise<number>; missing(): Promise<void> }>(async () => new Counter() as never);
    expect(await port.next()).toBe(1);
    expect(await port.next()).toBe(2);
    await expect(port.missing()).rejects.toThrow(/missing is not a method/);
  });

  it('is not mistaken for a promise when awaited', async () => {
    const port = lazyPort<Greeter>(async () => ({ greet: async () => 'x' }));
    expect(await Promise.resolve(port)).toBe(port);
  });

  it('fail every call of an adapter the function is not wired with, naming it', async () => {
    const port = unwiredPort<Greeter>('Greeting');
    await expect(port.greet('a')).rejects.toThrow(AdapterNotWiredError);
    await expect(port.greet('b')).rejects.toThrow(/Greeting is not wired/);
  });
});
