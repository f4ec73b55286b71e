import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentStateText, agentVersionText } from '../../cli/agent-status.js';
import { PRESENCE_REFRESH_MS, PRESENCE_TTL_DAYS, agentStatus, contactIsDue, lapsed, olderThan } from '../../lib/domain/agent-presence.js';

const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();
const policy = { leaseSeconds: 90, minimumVersion: '0.2.0' };

describe('the one rule for leases and connection records', () => {
  it('a time lapses exactly when it is reached, whether ISO or epoch seconds; no time never lapses', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000, max: 10_000 }), (offset) => {
        expect(lapsed(iso(offset), at(0))).toBe(offset <= 0);
        expect(lapsed(T0 / 1000 + offset, at(0))).toBe(offset <= 0);
      }),
    );
    expect(lapsed(undefined, at(0))).toBe(false);
  });
});

describe('agent versions', () => {
  it('orders versions numerically, part by part; no version is older than any', () => {
    const version = fc.tuple(fc.nat(30), fc.nat(30), fc.nat(30));
    fc.assert(
      fc.property(version, version, (a, b) => {
        const cmp = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
        expect(olderThan(a.join('.'), b.join('.'))).toBe(cmp < 0);
      }),
    );
    expect(olderThan('0.10.0', '0.9.9')).toBe(false);
    expect(olderThan(null, '0.0.0')).toBe(true);
  });
});

describe('what an instance shows of its agent', () => {
  it('is online for a lease after its last contact, then offline since that contact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (elapsed) => {
        const status = agentStatus({ version: '0.2.0', lastSeenAt: iso(0) }, undefined, at(elapsed), policy);
        expect(status).toEqual({ version: '0.2.0', lastSeenAt: iso(0), online: elapsed < 90, channel: 'polling' });
      }),
    );
  });

  it('is online and connected while a connection record is live, whatever the last poll; polling once it lapses', () => {
    const connection = { connectedAt: iso(100), expiresAt: (T0 + 7900 * 1000) / 1000 };
    expect(agentStatus({ version: '0.2.0', lastSeenAt: iso(0) }, connection, at(5000), policy)).toMatchObject({ online: true, channel: 'connected', lastSeenAt: iso(100) });
    expect(agentStatus({ version: '0.2.0', lastSeenAt: iso(0) }, connection, at(7900), policy)).toMatchObject({ online: false, channel: 'polling', lastSeenAt: iso(0) });
  });

  it('marks an agent below the minimum, and never one it has not heard from', () => {
    expect(agentStatus({ version: '0.1.9', lastSeenAt: iso(0) }, undefined, at(1), policy).outdated).toEqual({ minimumVersion: '0.2.0' });
    expect(agentStatus(undefined, undefined, at(1), policy)).toEqual({ version: null, lastSeenAt: null, online: false, channel: 'polling' });
  });
});

describe('when a contact is worth a write', () => {
  it('always for a first contact or a new version; while connected once a week (before the record expires); after a quarter of the lease when polling', () => {
    const week = PRESENCE_REFRESH_MS / 1000;
    expect(week).toBeLessThan(PRESENCE_TTL_DAYS * 24 * 3600);
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 7200 }), fc.integer({ min: week - 60, max: week + 60 })), fc.boolean(), (elapsed, connected) => {
        const record = { version: '0.2.0', lastSeenAt: iso(0) };
        expect(contactIsDue(record, { version: '0.2.0', connected, working: false }, at(elapsed), 90)).toBe(connected ? elapsed > week : elapsed > 22.5);
        expect(contactIsDue(record, { version: '0.3.0', connected, working: false }, at(elapsed), 90)).toBe(true);
        expect(contactIsDue(undefined, { version: null, connected, working: false }, at(elapsed), 90)).toBe(true);
      }),
    );
  });
});

describe('a poll that takes work', () => {
  it('writes nothing, however long since the last contact, for a first contact or a new version: the lease it takes is the contact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 * 24 * 3600 }), fc.boolean(), (elapsed, connected) => {
        const record = { version: '0.2.0', lastSeenAt: iso(0) };
        expect(contactIsDue(record, { version: '0.2.0', connected, working: true }, at(elapsed), 90)).toBe(false);
        expect(contactIsDue(record, { version: '0.3.0', connected, working: true }, at(elapsed), 90)).toBe(false);
        expect(contactIsDue(undefined, { version: '0.2.0', connected, working: true }, at(elapsed), 90)).toBe(false);
      }),
    );
  });
});

describe('an agent at work', () => {
  it('was last seen when its newest lease was renewed (a lease before its end), and is online until that lease ends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 3000 }), (renewedA, renewedB, elapsed) => {
        const leases = [iso(renewedA + 90), iso(renewedB + 90)];
        const newest = Math.max(renewedA, renewedB);
        const status = agentStatus({ version: '0.2.0', lastSeenAt: iso(-500) }, undefined, at(elapsed), policy, leases);
        expect(status).toEqual({ version: '0.2.0', lastSeenAt: iso(newest), online: elapsed < newest + 90, channel: 'polling' });
      }),
    );
  });

  it('keeps a later idle contact over an older lease, and a lease says nothing of the version (not called outdated for want of one)', () => {
    expect(agentStatus({ version: '0.2.0', lastSeenAt: iso(300) }, undefined, at(301), policy, [iso(150)])).toMatchObject({ lastSeenAt: iso(300), online: true });
    expect(agentStatus(undefined, undefined, at(10), policy, [iso(90)])).toEqual({ version: null, lastSeenAt: iso(0), online: true, channel: 'polling' });
  });
});

describe('the CLI\'s words for it', () => {
  it('says online with the channel, offline since the last contact, or never seen; and which minimum a version misses', () => {
    expect(agentStateText({ version: '0.2.0', lastSeenAt: '2026-12-07T12:04:10.123Z', online: false, channel: 'polling' })).toBe('offline since 12:04:10');
    expect(agentStateText({ version: '0.2.0', lastSeenAt: iso(0), online: true, channel: 'connected' })).toBe('online (connected)');
    expect(agentStateText({ version: null, lastSeenAt: null, online: false, channel: 'polling' })).toBe('never seen');
    expect(agentVersionText({ version: null, lastSeenAt: iso(0), online: true, channel: 'polling', outdated: { minimumVersion: '0.2.0' } })).toBe('unknown (older than 0.2.0)');
    expect(agentVersionText({ version: '0.2.0', lastSeenAt: iso(0), online: true, channel: 'polling' })).toBe('0.2.0');
  });
});
