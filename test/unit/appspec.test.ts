import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AppspecError, checkAppspec, eventTimeoutSeconds, filePermissionProblem, hookTimeoutProblems, parseAppspec } from '../../lib/domain/appspec.js';
import { type AclEntry, fullAcl, parseAclEntry } from '../../lib/domain/appspec-permissions.js';
import type { ErrorDetail } from '../../lib/errors.js';

const sample = `version: 0.0
os: linux
files:
  - source: /
    destination: /var/www/html/WordPress
permissions:
  - object: /var/www/html/WordPress
    pattern: "**"
    owner: apache
    group: apache
    mode: 755
    type:
      - directory
hooks:
  BeforeInstall:
    - location: scripts/install_dependencies.sh
      timeout: 300
      runas: root
  AfterInstall:
    - location: scripts/change_permissions.sh
      timeout: 300
      runas: root
  ApplicationStart:
    - location: scripts/start_server.sh
    - location: scripts/create_test_db.sh
      timeout: 300
      runas: root
  ApplicationStop:
    - location: scripts/stop_server.sh
      timeout: 300
      runas: root
  BeforeAllowTraffic:
    - location: scripts/lb.sh
file_exists_behavior: OVERWRITE
`;

function problems(source: string): ErrorDetail[] {
  try {
    parseAppspec(source);
  } catch (error) {
    expect(error).toBeInstanceOf(AppspecError);
    return (error as AppspecError).details;
  }
  throw new Error('expected the appspec to be rejected');
}

describe('appspec.yml', () => {
  it("reads CodeDeploy's WordPress sample unchanged, with defaults filled in", () => {
    const appspec = parseAppspec(sample);
    expect(appspec.files).toEqual([{ source: '/', destination: '/var/www/html/WordPress' }]);
    expect(appspec.permissions[0]).toEqual({
      object: '/var/www/html/WordPress',
      pattern: '**',
      except: [],
      owner: 'apache',
      group: 'apache',
      mode: '755',
      acls: [],
      type: ['directory'],
    });
    expect(appspec.hooks.ApplicationStart).toEqual([
      { location: 'scripts/start_server.sh', timeout: 3600 },
      { location: 'scripts/create_test_db.sh', timeout: 300, runas: 'root' },
    ]);
    expect(appspec.fileExistsBehavior).toBe('OVERWRITE');
    expect(eventTimeoutSeconds(appspec, 'ApplicationStart')).toBe(3900);
    expect(eventTimeoutSeconds(appspec, 'ValidateService')).toBe(0);
  });

  it('accepts the smallest appspec: version and os', () => {
    expect(parseAppspec('version: 0.0\nos: linux\n')).toEqual({ version: '0.0', os: 'linux', files: [], permissions: [], hooks: {} });
  });

  const invalid: [string, string, { path: string; message: RegExp }[]][] = [
    ['a missing version', 'os: linux', [{ path: '$.version', message: /^is required/ }]],
    ['another version', 'version: 1.0\nos: linux', [{ path: '$.version', message: /must be 0\.0/ }]],
    ['windows', 'version: 0.0\nos: windows', [{ path: '$.os', message: /windows is not supported by this agent \(linux only\): .*CodeDeploy's Windows agent/ }]],
    ['os in another case', 'version: 0.0\nos: Linux', [{ path: '$.os', message: /^is "Linux": CodeDeploy compares os exactly .* write os: linux in lower case \(line 2, column 5\)$/ }]],
    ['an os CodeDeploy does not know', 'version: 0.0\nos: ubuntu', [{ path: '$.os', message: /^is "ubuntu": CodeDeploy knows only linux and windows.*write os: linux \(line 2, column 5\)$/ }]],
    ['version as a string', 'version: "0.0"\nos: linux', [{ path: '$.version', message: /the string "0\.0".*without quotes/ }]],
    ['an unquoted leading-zero mode that is not a mode in octal', 'version: 0.0\nos: linux\npermissions:\n  - object: /a\n    mode: 0755', [{ path: '$.permissions[0].mode', message: /octal number, 493 .* quote it \("0755"\)/ }]],
    ['a BOM directly before the first key', '\uFEFFversion: 0.0\nos: linux', [{ path: '$', message: /byte-order mark/ }]],
    ['a script written as a bare path', 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - scripts/a.sh', [{ path: '$.hooks.AfterInstall[0]', message: /- location: scripts\/start\.sh/ }]],
    ['a timeout CodeDeploy reads as 0', 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: soon', [{ path: '$.hooks.AfterInstall[0].timeout', message: /reads it as 0/ }]],
    ['a timeout that is not a number', 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: true', [{ path: '$.hooks.AfterInstall[0].timeout', message: /number of seconds/ }]],
    [
      'a source escaping the bundle and an empty destination',
      'version: 0.0\nos: linux\nfiles:\n  - source: ../etc\n    destination: ""',
      [
        { path: '$.files[0].source', message: /inside the bundle/ },
        { path: '$.files[0].destination', message: /must not be empty/ },
      ],
    ],
    [
      'a permission without object and a bad mode',
      'version: 0.0\nos: linux\npermissions:\n  - mode: 999',
      [
        { path: '$.permissions[0].object', message: /^is required/ },
        { path: '$.permissions[0].mode', message: /octal digits/ },
      ],
    ],
    ['a bad script under an event that never runs (the agent reads them all)', 'version: 0.0\nos: linux\nhooks:\n  Custom:\n    - timeout: 5', [{ path: '$.hooks.Custom[0].location', message: /^is required/ }]],
    [
      'a script without location and with a zero timeout',
      'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - timeout: 0',
      [
        { path: '$.hooks.AfterInstall[0].location', message: /^is required/ },
        { path: '$.hooks.AfterInstall[0].timeout', message: /greater than 0/ },
      ],
    ],
    ['an unknown file_exists_behavior', 'version: 0.0\nos: linux\nfile_exists_behavior: MERGE', [{ path: '$.file_exists_behavior', message: /DISALLOW, OVERWRITE, RETAIN/ }]],
    ['a repeated key whose last value is wrong', 'version: 0.0\nos: linux\nos: windows', [{ path: '$.os', message: /windows is not supported/ }]],
    ['a list instead of a mapping', '- version: 0.0', [{ path: '$', message: /mapping/ }]],
    ['broken YAML', 'version: [0.0', [{ path: '$', message: /./ }]],
  ];
  it.each(invalid)('rejects %s, naming the key and the rule', (_name, source, expected) => {
    const details = problems(source);
    expect(details).toHaveLength(expected.length);
    for (const { path, message } of expected) expect(details).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }));
  });

  it('applies the file-permission rule once the object is known to be a file', () => {
    const [permission] = parseAppspec('version: 0.0\nos: linux\npermissions:\n  - object: /etc/app.conf\n    pattern: "*.conf"').permissions;
    expect(filePermissionProblem(permission!)).toMatch(/pattern "\*\.conf" cannot apply to the file/);
    expect(filePermissionProblem({ ...permission!, pattern: '**' })).toBeUndefined();
  });

  it('never throws anything but an AppspecError, whatever the input', () => {
    const yamlish = fc.oneof(
      fc.string(),
      fc.anything().map((value) => stringify(value) ?? ''),
      fc
        .record({
          version: fc.oneof(fc.constant(0), fc.constant('0.0'), fc.anything()),
          os: fc.oneof(fc.constant('linux'), fc.string()),
          files: fc.anything(),
          permissions: fc.anything(),
          hooks: fc.oneof(fc.dictionary(fc.constantFrom('BeforeInstall', 'Install', 'x'), fc.anything()), fc.anything()),
        }, { requiredKeys: [] })
        .map((value) => stringify(value) ?? ''),
    );
    fc.assert(
      fc.property(yamlish, (source) => {
        try {
          parseAppspec(source);
        } catch (error) {
          if (!(error instanceof AppspecError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });

  describe("CodeDeploy's permission rules", () => {
    const spec = (permissions: string, files = '') => `version: 0.0\nos: linux\n${files}permissions:\n${permissions}`;

    it('accepts the same object listed several times with different patterns (the conflict is one installed file matched twice)', () => {
      const { permissions } = parseAppspec(spec('  - object: /srv/app\n    pattern: "*.sh"\n    mode: 755\n    type: [file]\n  - object: /srv/app/\n    pattern: "*.html"\n    mode: 644\n    type: [file]\n'));
      expect(permissions.map((p) => p.pattern)).toEqual(['*.sh', '*.html']);
    });

    it('refuses a pattern other than ** or an except on an object that files installs as a file', () => {
      const files = 'files:\n  - source: conf/app.conf\n    destination: /etc/app\n';
      const details = problems(spec('  - object: /etc/app/app.conf\n    pattern: "*.conf"\n    except: [x.conf]\n    type: [file]\n', files));
      expect(details.map((d) => d.path).sort()).toEqual(['$.permissions[0].except', '$.permissions[0].pattern']);
      expect(details[0]?.message).toMatch(/is a file/);
    });

    it('accepts a pattern on a folder with type [file]: it selects the files inside (as CodeDeploy does)', () => {
      const files = 'files:\n  - source: scripts\n    destination: /srv/app\n';
      const [permission] = parseAppspec(spec('  - object: /srv/app\n    pattern: "*.sh"\n    except: [skip.sh]\n    mode: 750\n    type: [file]\n', files)).permissions;
      expect(permission).toMatchObject({ pattern: '*.sh', except: ['skip.sh'], type: ['file'] });
    });

    it.each([
      ['an unknown scope', 'x:bob:rw', /unknown scope "x"/],
      ['a user entry without a name', 'u::rwx', /set with mode/],
      ['a group entry without a name', 'g::r', /set with mode/],
      ['other without a name (the base entry)', 'o::r', /set with mode/],
      ['a named mask', 'm:bob:r', /takes no name/],
      ['default twice', 'd:d:bob:r', /default is given twice|only default/],
      ['too many parts', 'd:u:bob:r:x', /not an ACL entry/],
      ['a bare name', 'bob', /not an ACL entry/],
      ['bad permissions', 'u:bob:rwz', /permissions "rwz"/],
      ['something before the scope that is not default', 'q:u:bob:r', /only default/],
    ])('refuses an ACL entry with %s', (_name, entry, message) => {
      const details = problems(spec(`  - object: /srv/app\n    type: [directory]\n    acls:\n      - "${entry}"\n`));
      expect(details).toEqual([expect.objectContaining({ path: '$.permissions[0].acls[0]', message: expect.stringMatching(message) })]);
    });

    it('accepts the ACL entries setfacl knows, default ones on folders only', () => {
      const acls = ['u:bob:rw', 'bob:rwx', 'user:alice:7', 'g:staff:r-x', 'group:ops:5', 'm::rx', 'mask::r', 'd:u:bob:rwx', 'default:g:staff:r', 'd:o::r', 'd::rwx', 'd:m::rx'];
      const entries = acls.map((a) => `      - "${a}"`).join('\n');
      expect(parseAppspec(spec(`  - object: /srv/app\n    type: [directory]\n    acls:\n${entries}\n`)).permissions[0]?.acls).toEqual(acls);
    });

    it('refuses default ACL entries when files are among the targets', () => {
      const details = problems(spec('  - object: /srv/app\n    acls: ["u:bob:r", "d:u:bob:rwx"]\n'));
      expect(details).toEqual([expect.objectContaining({ path: '$.permissions[0].acls[1]', message: expect.stringMatching(/directories only/) })]);
    });

    it.each([
      ['no type', 'context:\n      user: unconfined_u', '$.permissions[0].context.type', /^is required/],
      ['a role', 'context:\n      type: httpd_sys_content_t\n      role: object_r', '$.permissions[0].context.role', /roles are not supported/],
      ['a backwards sensitivity range', 'context:\n      type: t\n      range: s3-s1', '$.permissions[0].context.range', /below/],
      ['a category above 1023', 'context:\n      type: t\n      range: s0:c1024', '$.permissions[0].context.range', /0-1023/],
      ['a repeated category', 'context:\n      type: t\n      range: s0:c0.c3,c2', '$.permissions[0].context.range', /more than once/],
      ['a malformed range', 'context:\n      type: t\n      range: "0:c1"', '$.permissions[0].context.range', /sensitivity/],
      ['user and name both', 'context:\n      type: t\n      user: a\n      name: b', '$.permissions[0].context.name', /once/],
    ])('refuses a SELinux context with %s', (_name, context, path, message) => {
      const details = problems(spec(`  - object: /srv/app\n    ${context}\n`));
      expect(details).toEqual([expect.objectContaining({ path, message: expect.stringMatching(message) })]);
    });

    it('reads a SELinux context given with name (as the CodeDeploy agent does) or user', () => {
      const read = (key: string) => parseAppspec(spec(`  - object: /srv/app\n    context:\n      ${key}: unconfined_u\n      type: httpd_sys_content_t\n      range: s0-s1:c0.c3,c7\n`)).permissions[0]?.context;
      expect(read('name')).toEqual({ user: 'unconfined_u', type: 'httpd_sys_content_t', range: 's0-s1:c0.c3,c7' });
      expect(read('user')).toEqual(read('name'));
    });

    it('reports every problem at once, each with its path and line', () => {
      const source = spec('  - mode: 9\n    acls: ["x:y:z"]\n  - object: /a\n    type: [file, socket]\n  - object: a\n', 'files:\n  - destination: /srv\n');
      const details = problems(source);
      expect(details.map((d) => d.path).sort()).toEqual([
        '$.files[0].source',
        '$.permissions[0].acls[0]',
        '$.permissions[0].mode',
        '$.permissions[0].object',
        '$.permissions[1].type[1]',
        '$.permissions[2].object',
      ]);
      expect(details.find((d) => d.path === '$.files[0].source')?.message).toMatch(/^is required/);
      expect(details.find((d) => d.path === '$.permissions[0].mode')).toMatchObject({ line: 6, message: expect.stringMatching(/\(line 6, column \d+\)$/) });
      expect(details.find((d) => d.path === '$.permissions[1].type[1]')?.line).toBe(9);
    });
  });

  it('names the line and column of a YAML syntax error', () => {
    const details = problems('version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: [a.sh\n');
    expect(details[0]).toMatchObject({ path: '$', line: expect.any(Number), column: expect.any(Number) });
    expect(details[0]?.message).toMatch(/line \d+, column \d+/);
    expect(problems('version: 0.0\nos: linux\nos: [linux')[0]).toMatchObject({ line: 3 });
  });

  it('never throws anything but an AppspecError for hostile generated permissions', () => {
    const aclPart = fc.constantFrom('', 'd', 'default', 'u', 'user', 'g', 'm', 'mask', 'o', 'other', 'bob', 'x', 'rwx', '7', 'r-x', ':', '\u0000');
    const permission = fc.record(
      {
        object: fc.oneof(fc.constantFrom('/srv/app', '/srv/app/', '/etc/app/app.conf', '', 'rel'), fc.anything()),
        pattern: fc.oneof(fc.constantFrom('**', '*.sh', 'a/b'), fc.anything()),
        except: fc.oneof(fc.array(fc.string()), fc.anything()),
        mode: fc.oneof(fc.integer(), fc.string(), fc.anything()),
        acls: fc.oneof(fc.array(fc.array(aclPart, { maxLength: 6 }).map((p) => p.join(':'))), fc.anything()),
        context: fc.oneof(
          fc.record({ type: fc.anything(), user: fc.anything(), name: fc.anything(), role: fc.anything(), range: fc.oneof(fc.string(), fc.stringMatching(/^s\d{1,3}(-s\d{1,3})?(:c\d{1,5}([.,]c\d{1,5}){0,4})?$/)) }, { requiredKeys: [] }),
          fc.anything(),
        ),
        type: fc.oneof(fc.subarray(['file', 'directory', 'socket']), fc.anything()),
      },
      { requiredKeys: [] },
    );
    const spec = fc.record({
      files: fc.array(fc.record({ source: fc.constantFrom('conf/app.conf', '/', 'scripts/'), destination: fc.constantFrom('/etc/app', '/srv/app') })),
      permissions: fc.array(permission, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(spec, (s) => {
        const source = stringify({ version: 0.0, os: 'linux', ...s }) ?? '';
        try {
          parseAppspec(source);
        } catch (error) {
          if (!(error instanceof AppspecError)) throw error;
          for (const d of error.details) expect(d.path).toMatch(/^\$/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('reading an appspec as the CodeDeploy agent does', () => {
  const base = 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n';

  it('reads timeouts with Ruby\'s to_i and YAML 1.1 numbers, runas stripped, sudo by truthiness', () => {
    const { appspec, warnings } = checkAppspec(
      `${base}    - location: " a.sh "\n      timeout: "300"\n      runas: " web "\n      sudo: true\n    - location: b.sh\n      timeout: 0:30\n      runas: ""\n      sudo: no\n    - location: c.sh\n      timeout: 012\n      sudo: "false"\n`,
    );
    expect(appspec.hooks.ApplicationStart).toEqual([
      { location: 'a.sh', timeout: 300, runas: 'web', sudo: true },
      { location: 'b.sh', timeout: 1800 },
      // 012 is octal in YAML 1.1; the string "false" is true to Ruby.
      { location: 'c.sh', timeout: 10, sudo: true },
    ]);
    expect(warnings).toEqual([expect.objectContaining({ path: '$.hooks.ApplicationStart[1].runas', line: 11, message: expect.stringMatching(/as root/) })]);
  });

  it('installs a relative destination from /, as the CodeDeploy agent\'s service does, with a warning naming the absolute path', () => {
    const { appspec, warnings } = checkAppspec('version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: var/www/html\n  - source: conf\n    destination: ../etc/app\n');
    expect(appspec.files.map((f) => f.destination)).toEqual(['/var/www/html', '/etc/app']);
    expect(warnings).toEqual([
      expect.objectContaining({ path: '$.files[0].destination', line: 5, message: expect.stringMatching(/^var\/www\/html is relative: .* installs to \/var\/www\/html; write \/var\/www\/html/) }),
      expect.objectContaining({ path: '$.files[1].destination', line: 7, message: expect.stringMatching(/installs to \/etc\/app; write \/etc\/app/) }),
    ]);
  });

  it('keeps only the events the agent runs in the model, and warns of the others at their line', () => {
    const { appspec, warnings } = checkAppspec(`${base}    - location: a.sh\n  Install:\n    - location: b.sh\n  AfterInstall: []\n  BeforeInstall:\n`);
    expect(appspec.hooks).toEqual({ ApplicationStart: [{ location: 'a.sh', timeout: 3600 }] });
    expect(warnings).toEqual([expect.objectContaining({ path: '$.hooks.Install', line: 6, column: 3 })]);
  });

  it('applies an unquoted leading-zero mode as the agent does (0644 is 420), with a warning saying so', () => {
    const { appspec, warnings } = checkAppspec('version: 0.0\nos: linux\npermissions:\n  - object: /srv\n    mode: 0644\n  - object: /srv\n    mode: "0644"\n');
    expect(appspec.permissions.map((p) => p.mode)).toEqual(['420', '0644']);
    expect(warnings).toEqual([expect.objectContaining({ path: '$.permissions[0].mode', line: 5, message: expect.stringMatching(/quote it \("0644"\)/) })]);
  });

  it('keeps the last of repeated keys, as the agent\'s YAML library does, and warns at the repeat', () => {
    const { appspec, warnings } = checkAppspec('version: 0.0\nos: linux\nfiles:\n  - source: a\n    destination: /a\nfiles:\n  - source: b\n    destination: /b\n');
    expect(appspec.files).toEqual([{ source: 'b', destination: '/b' }]);
    expect(warnings).toEqual([expect.objectContaining({ path: '$.files', line: 6, message: expect.stringMatching(/first at line 3/) })]);
  });

  it('gives every warning a path and a line, whatever is accepted', () => {
    const keys = fc.constantFrom('version', 'os', 'Hooks', 'hooks', 'files', 'permissions', 'Install', 'x', 'BeforeInstall');
    fc.assert(
      fc.property(fc.dictionary(keys, fc.anything({ maxDepth: 3 })), (extra) => {
        const source = stringify({ ...extra, version: 0, os: 'linux' }) ?? '';
        try {
          for (const w of checkAppspec(source).warnings) {
            expect(w.path).toMatch(/^\$/);
            expect(w.line).toBeGreaterThan(0);
          }
        } catch (error) {
          if (!(error instanceof AppspecError)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('preflight\'s limit on hook timeouts', () => {
  it('refuses an event whose scripts may run more than 3600 s together, naming the event and its scripts', () => {
    const source = 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 3600\n  ApplicationStart:\n    - location: b.sh\n      timeout: 3599\n    - location: c.sh\n      timeout: 2\n';
    expect(() => checkAppspec(source)).not.toThrow(); // the agent itself runs it
    expect(hookTimeoutProblems(parseAppspec(source))).toEqual([
      { path: ['hooks', 'ApplicationStart'], message: expect.stringMatching(/3601 s together \(b\.sh \(3599 s\) \+ c\.sh \(2 s\)\), more than the 3600 s/) },
    ]);
    let error: unknown;
    try {
      checkAppspec(source, { limitTimeouts: true });
    } catch (e) {
      error = e;
    }
    expect((error as AppspecError).details).toEqual([expect.objectContaining({ path: '$.hooks.ApplicationStart', line: 8 })]);
  });
});

describe('the whole ACL the agent sets (CodeDeploy\'s ChangeAclCommand)', () => {
  const entries = (...aces: string[]) => aces.map((a) => parseAclEntry(a) as AclEntry);

  it('adds the base entries from the mode and, with a named entry and no mask, a mask of the group bits', () => {
    expect(fullAcl(entries('u:bob:rw', 'g:ops:4'), 0o640)).toEqual(['user:bob:rw-', 'group:ops:r--', 'user::rw-', 'group::r--', 'other::---', 'mask::r--']);
    expect(fullAcl(entries('m::rwx', 'u:bob:7'), 0o750)).toEqual(['mask::rwx', 'user:bob:rwx', 'user::rwx', 'group::r-x', 'other::---']);
  });

  it('with a default entry, the default base entries it lacks and a default mask equal to the default group entry', () => {
    expect(fullAcl(entries('d:u:bob:rx', 'd:g::r'), 0o751)).toEqual([
      'default:user:bob:r-x', 'default:group::r--', 'user::rwx', 'group::r-x', 'other::--x', 'default:user::rwx', 'default:other::--x', 'default:mask::r--',
    ]);
  });

  it('reads permissions in any order, as the agent does', () => {
    expect(fullAcl(entries('u:bob:xr'), 0o600)[0]).toBe('user:bob:r-x');
  });
});
