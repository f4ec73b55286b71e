import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inHostView, outermost } from '../../agent/host-view.js';

/** A path as the kernel walks it from `/`: empty and `.` segments dropped, `..` one up (never above the root). */
function normalised(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') parts.pop();
    else if (part && part !== '.') parts.push(part);
  }
  return `/${parts.join('/')}`;
}

describe('the destinations a hook sees the host folder at', () => {
  it('mounts each destination once, none inside another, never the root, whatever the paths', () => {
    const segment = fc.constantFrom('var', 'www', 'app', '..', '.', 'opt', '');
    fc.assert(
      fc.property(fc.array(fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`), { maxLength: 8 }), (destinations) => {
        const mounted = outermost(destinations);
        for (const d of mounted) {
          expect(d).toMatch(/^\/[^/]/);
          expect(d.split('/')).not.toContain('..');
          expect(mounted.filter((o) => o === d || d.startsWith(`${o}/`))).toEqual([d]);
        }
        // Every destination but the root is shown, itself or through one above it.
        for (const d of destinations) {
          const clean = normalised(d);
          if (clean !== '/') expect(mounted.some((o) => clean === o || clean.startsWith(`${o}/`))).toBe(true);
        }
      }),
    );
  });

  it('passes destinations as arguments, never as shell text, and takes on runas after the mounts', () => {
    const hostile = '/srv/$(touch /tmp/pwned)`id`;x';
    const root = inHostView({ root: '/h', mode: 'root' }, [hostile], ['/bin/sh', '-c', 'true'], { uid: 1001, gid: 1002 });
    expect(root.args.slice(0, 4)).toEqual(['--mount', '--propagation', 'private', '--']);
    const script = root.args[root.args.indexOf('-c') + 1] as string;
    expect(script).not.toContain('pwned');
    expect(root.args).toContain(hostile);
    const tail = root.args.slice(root.args.lastIndexOf('--') - 4);
    expect(tail).toEqual(['setpriv', '--reuid=1001', '--regid=1002', '--init-groups', '--', '/bin/sh', '-c', 'true']);

    const user = inHostView({ root: '/h', mode: 'user' }, ['/srv/app'], ['/bin/true']);
    expect(user.args.slice(0, 3)).toEqual(['--user', '--map-root-user', '--mount']);
    // An unprivileged agent's hook gets its own user back, in a nested user namespace.
    expect(user.args).toContain(`--map-user=${process.getuid?.()}`);
  });
});
