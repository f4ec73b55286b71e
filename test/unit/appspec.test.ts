import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AppspecError, eventTimeoutSeconds, filePermissionProblem, parseAppspec } from '../../lib/domain/appspec.js';

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

function problems(source: string): { path: string; message: string }[] {
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
    ['a missing version', 'os: linux', [{ path: '$.version', message: /0\.0/ }]],
    ['another version', 'version: 1.0\nos: linux', [{ path: '$.version', message: /must be 0\.0/ }]],
    ['windows', 'version: 0.0\nos: windows', [{ path: '$.os', message: /windows is not supported by this agent/ }]],
    ['an unknown top-level key', 'version: 0.0\nos: linux\nhook: {}', [{ path: '$.hook', message: /not a known field/ }]],
    [
      'a relative destination and a source escaping the bundle',
      'version: 0.0\nos: linux\nfiles:\n  - source: ../etc\n    destination: var/www',
      [
        { path: '$.files[0].source', message: /inside the bundle/ },
        { path: '$.files[0].destination', message: /absolute path/ },
      ],
    ],
    [
      'a permission without object and a bad mode',
      'version: 0.0\nos: linux\npermissions:\n  - mode: 999',
      [
        { path: '$.permissions[0].object', message: /string/ },
        { path: '$.permissions[0].mode', message: /octal digits/ },
      ],
    ],
    ['an unknown event', 'version: 0.0\nos: linux\nhooks:\n  BeforeDeploy:\n    - location: a.sh', [{ path: '$.hooks.BeforeDeploy', message: /not a lifecycle event/ }]],
    ['scripts on a reserved event', 'version: 0.0\nos: linux\nhooks:\n  Install:\n    - location: a.sh', [{ path: '$.hooks.Install', message: /performed by the agent itself/ }]],
    [
      'a script without location and with a zero timeout',
      'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - timeout: 0',
      [
        { path: '$.hooks.AfterInstall[0].location', message: /string/ },
        { path: '$.hooks.AfterInstall[0].timeout', message: /greater than 0/ },
      ],
    ],
    ['an unknown file_exists_behavior', 'version: 0.0\nos: linux\nfile_exists_behavior: MERGE', [{ path: '$.file_exists_behavior', message: /DISALLOW, OVERWRITE, RETAIN/ }]],
    ['a repeated key', 'version: 0.0\nos: linux\nos: linux', [{ path: '$', message: /unique/i }]],
    ['a list instead of a mapping', '- version: 0.0', [{ path: '$', message: /mapping/ }]],
    ['broken YAML', 'version: [0.0', [{ path: '$', message: /./ }]],
  ];
  it.each(invalid)('rejects %s, naming the key and the rule', (_name, source, expected) => {
    const details = problems(source);
    expect(details).toHaveLength(expected.length);
    for (const { path, message } of expected) expect(details).toContainEqual({ path, message: expect.stringMatching(message) });
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
});
