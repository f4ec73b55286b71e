/**
 * Appspecs of the shapes people write for EC2/on-premises deployments, each
 * with the verdict of the CodeDeploy agent's rules (its
 * application_specification/*.rb, installer.rb, install_instruction.rb and
 * command_executor.rb) written beside it. Every case is its own file, written
 * for this corpus; `rule` names the agent rule the verdict follows.
 */
export interface CorpusCase {
  name: string;
  /** The CodeDeploy agent rule the verdict follows. */
  rule: string;
  appspec: string;
  /** The appspec's file name (appspec.yml unless said). */
  appspecName?: string;
  /** A folder the whole bundle sits in. */
  folder?: string;
  /** Files beside the appspec besides those the appspec names (which are made up automatically). */
  tree?: Record<string, string>;
  /** Accepted (with exactly these warnings, matched in order of the warnings' paths), or refused with these problems. */
  verdict: { accept: RegExp[] } | { refuse: RegExp[] };
}

const ok = (...warnings: RegExp[]) => ({ accept: warnings });
const no = (...problems: RegExp[]) => ({ refuse: problems });

// ---- realistic appspecs, all accepted by CodeDeploy ----
export const REALISTIC: CorpusCase[] = [
  {
    name: 'static site on nginx',
    rule: 'files copies a folder source into destination; hooks run in order',
    appspec: `version: 0.0
os: linux
files:
  - source: public
    destination: /usr/share/nginx/html
hooks:
  BeforeInstall:
    - location: scripts/clean.sh
      timeout: 60
  ApplicationStart:
    - location: scripts/reload_nginx.sh
      timeout: 30
      runas: root
`,
    verdict: ok(),
  },
  {
    name: 'Apache sample app with root source',
    rule: 'source: / copies the whole bundle',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /var/www/html/
hooks:
  BeforeInstall:
    - location: scripts/install_dependencies
      timeout: 300
      runas: root
    - location: scripts/start_server
      timeout: 300
      runas: root
  ApplicationStop:
    - location: scripts/stop_server
      timeout: 300
      runas: root
`,
    verdict: ok(),
  },
  {
    name: 'Node app with pm2 and an npm install step',
    rule: 'hook script timeouts are read with to_i',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /home/ec2-user/app
permissions:
  - object: /home/ec2-user/app
    owner: ec2-user
    group: ec2-user
hooks:
  ApplicationStop:
    - location: deploy/stop.sh
      timeout: 120
      runas: ec2-user
  AfterInstall:
    - location: deploy/npm_install.sh
      timeout: 900
      runas: ec2-user
  ApplicationStart:
    - location: deploy/start.sh
      timeout: 120
      runas: ec2-user
  ValidateService:
    - location: deploy/health.sh
      timeout: 60
`,
    verdict: ok(),
  },
  {
    name: 'Node app with quoted timeouts as in AWS templates',
    rule: 'ScriptInfo: timeout.to_i reads "300" as 300',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /opt/node-app
hooks:
  AfterInstall:
    - location: scripts/after_install.sh
      timeout: "300"
      runas: root
  ApplicationStart:
    - location: scripts/app_start.sh
      timeout: "300"
      runas: root
  ApplicationStop:
    - location: scripts/app_stop.sh
      timeout: "300"
      runas: root
`,
    verdict: ok(),
  },
  {
    name: 'Python Flask app behind gunicorn and systemd',
    rule: 'several files entries, each copied on its own',
    appspec: `version: 0.0
os: linux
files:
  - source: app
    destination: /srv/flaskapp/app
  - source: requirements.txt
    destination: /srv/flaskapp
  - source: config/flaskapp.service
    destination: /etc/systemd/system
hooks:
  BeforeInstall:
    - location: scripts/create_venv.sh
      timeout: 600
  AfterInstall:
    - location: scripts/pip_install.sh
      timeout: 900
  ApplicationStart:
    - location: scripts/systemctl_start.sh
      timeout: 60
  ValidateService:
    - location: scripts/curl_health.sh
      timeout: 120
`,
    verdict: ok(),
  },
  {
    name: 'Django app with migrations as the web user',
    rule: 'runas is read and stripped',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /var/app/django
file_exists_behavior: OVERWRITE
permissions:
  - object: /var/app/django
    pattern: "**"
    owner: www-data
    group: www-data
    mode: 755
    type:
      - directory
  - object: /var/app/django
    pattern: "*.py"
    owner: www-data
    group: www-data
    mode: 644
    type:
      - file
hooks:
  AfterInstall:
    - location: bin/migrate.sh
      timeout: 1200
      runas: www-data
  ApplicationStart:
    - location: bin/restart_uwsgi.sh
      timeout: 60
`,
    verdict: ok(),
  },
  {
    name: 'Spring Boot jar run by systemd',
    rule: 'a file source is copied into destination under its own name',
    appspec: `version: 0.0
os: linux
files:
  - source: target/service.jar
    destination: /opt/service
  - source: deploy/service.conf
    destination: /opt/service
permissions:
  - object: /opt/service/service.jar
    owner: svc
    group: svc
    mode: 500
hooks:
  ApplicationStop:
    - location: deploy/stop.sh
      timeout: 90
  ApplicationStart:
    - location: deploy/start.sh
      timeout: 180
  ValidateService:
    - location: deploy/wait_for_port.sh
      timeout: 300
`,
    verdict: ok(),
  },
  {
    name: 'Tomcat WAR drop',
    rule: 'destination folders are created as needed',
    appspec: `version: 0.0
os: linux
files:
  - source: build/ROOT.war
    destination: /usr/share/tomcat/webapps
hooks:
  ApplicationStop:
    - location: scripts/stop_tomcat.sh
  BeforeInstall:
    - location: scripts/remove_old_war.sh
  ApplicationStart:
    - location: scripts/start_tomcat.sh
`,
    verdict: ok(),
  },
  {
    name: 'Go binary with a setuid helper',
    rule: 'ModeInfo: four octal digits set the special bits',
    appspec: `version: 0.0
os: linux
files:
  - source: bin
    destination: /usr/local/lib/gosvc
permissions:
  - object: /usr/local/lib/gosvc
    pattern: "helper"
    owner: root
    mode: 4755
    type: [file]
  - object: /usr/local/lib/gosvc
    pattern: "gosvc"
    mode: 755
    type: [file]
hooks:
  ApplicationStart:
    - location: ops/start.sh
      timeout: 30
`,
    tree: { 'bin/gosvc': 'binary', 'bin/helper': 'binary' },
    verdict: ok(),
  },
  {
    name: 'WordPress on Apache',
    rule: 'permissions with type directory apply to folders the install makes',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /var/www/html/WordPress
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
      timeout: 300
      runas: root
    - location: scripts/create_test_db.sh
      timeout: 300
      runas: root
  ApplicationStop:
    - location: scripts/stop_server.sh
      timeout: 300
      runas: root
`,
    verdict: ok(),
  },
  {
    name: 'Rails app with puma and a precompile step',
    rule: 'hooks per event, each script in order',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /var/www/rails
hooks:
  BeforeInstall:
    - location: deploy/hooks/before_install.sh
      timeout: 300
  AfterInstall:
    - location: deploy/hooks/bundle_install.sh
      timeout: 1200
      runas: deploy
    - location: deploy/hooks/assets_precompile.sh
      timeout: 1200
      runas: deploy
  ApplicationStart:
    - location: deploy/hooks/restart_puma.sh
      timeout: 120
      runas: deploy
`,
    verdict: ok(),
  },
  {
    name: 'PHP Laravel with storage permissions',
    rule: 'a pattern other than ** selects direct children of object only',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /var/www/laravel
permissions:
  - object: /var/www/laravel/storage
    owner: nginx
    group: nginx
    mode: 775
    type:
      - directory
  - object: /var/www/laravel
    pattern: artisan
    mode: 755
    type:
      - file
hooks:
  AfterInstall:
    - location: .deploy/composer.sh
      timeout: 600
  ApplicationStart:
    - location: .deploy/php_fpm_reload.sh
`,
    tree: { 'storage/logs/.keep': '', artisan: '#!/usr/bin/env php' },
    verdict: ok(),
  },
  {
    name: 'config-only deploy to /etc',
    rule: 'an appspec without hooks is valid',
    appspec: `version: 0.0
os: linux
files:
  - source: nginx/site.conf
    destination: /etc/nginx/conf.d
  - source: logrotate/app
    destination: /etc/logrotate.d
`,
    tree: { 'logrotate/app': 'weekly' },
    verdict: ok(),
  },
  {
    name: 'hooks only, no files',
    rule: 'files defaults to none',
    appspec: `version: 0.0
os: linux
hooks:
  ApplicationStart:
    - location: run_migration.sh
      timeout: 1800
`,
    verdict: ok(),
  },
  {
    name: 'smallest appspec',
    rule: 'version and os are the only required keys',
    appspec: 'version: 0.0\nos: linux\n',
    verdict: ok(),
  },
  {
    name: 'version written 0 instead of 0.0',
    rule: 'parse_version: [0.0].include?(0) is true in Ruby',
    appspec: 'version: 0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: start.sh\n',
    verdict: ok(),
  },
  {
    name: 'comments and blank lines everywhere',
    rule: 'YAML comments are ignored',
    appspec: `# Deployment descriptor for the billing worker
version: 0.0   # the only version CodeDeploy knows
os: linux

files:
  # the worker itself
  - source: worker
    destination: /opt/billing/worker

hooks:
  # stop before copying
  ApplicationStop:
    - location: ops/stop.sh   # tolerates a missing service
      timeout: 60
  ApplicationStart:
    - location: ops/start.sh
      timeout: 60
`,
    verdict: ok(),
  },
  {
    name: 'flow style lists and mappings',
    rule: 'YAML flow collections are ordinary lists and mappings',
    appspec: `version: 0.0
os: linux
files: [{source: dist, destination: /srv/dist}]
permissions: [{object: /srv/dist, mode: 755, type: [directory]}]
hooks:
  ApplicationStart: [{location: start.sh, timeout: 45}]
`,
    verdict: ok(),
  },
  {
    name: 'CRLF line endings from a Windows editor',
    rule: 'YAML reads CRLF line breaks',
    appspec: 'version: 0.0\r\nos: linux\r\nfiles:\r\n  - source: site\r\n    destination: /var/www/site\r\nhooks:\r\n  ApplicationStart:\r\n    - location: start.sh\r\n      timeout: 60\r\n',
    verdict: ok(),
  },
  {
    name: 'document start marker',
    rule: 'YAML --- starts the document',
    appspec: '---\nversion: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: after.sh\n',
    verdict: ok(),
  },
  {
    name: 'traffic hooks for a load-balanced group',
    rule: 'BeforeBlockTraffic … AfterAllowTraffic are hook events',
    appspec: `version: 0.0
os: linux
files:
  - source: /
    destination: /opt/web
hooks:
  BeforeBlockTraffic:
    - location: lb/drain.sh
      timeout: 300
  AfterBlockTraffic:
    - location: lb/confirm_drained.sh
  BeforeAllowTraffic:
    - location: lb/warm_cache.sh
      timeout: 600
  AfterAllowTraffic:
    - location: lb/smoke.sh
`,
    verdict: ok(),
  },
  {
    name: 'every in-place event with a script',
    rule: 'DEFAULT_HOOK_MAPPING lists the events the agent runs',
    appspec: `version: 0.0
os: linux
hooks:
  ApplicationStop:
    - location: h/stop.sh
  BeforeInstall:
    - location: h/before.sh
  AfterInstall:
    - location: h/after.sh
  ApplicationStart:
    - location: h/start.sh
  ValidateService:
    - location: h/validate.sh
`,
    verdict: ok(),
  },
  {
    name: 'file_exists_behavior RETAIN for user-edited config',
    rule: 'parse_file_exists_behavior: DISALLOW, OVERWRITE or RETAIN',
    appspec: `version: 0.0
os: linux
file_exists_behavior: RETAIN
files:
  - source: defaults
    destination: /etc/myapp
`,
    verdict: ok(),
  },
  {
    name: 'file_exists_behavior DISALLOW',
    rule: 'parse_file_exists_behavior',
    appspec: 'version: 0.0\nos: linux\nfile_exists_behavior: DISALLOW\nfiles:\n  - source: www\n    destination: /var/www/new\n',
    verdict: ok(),
  },
  {
    name: 'ACLs for a shared uploads folder',
    rule: 'AclInfo: setfacl entries, default ones on folders',
    appspec: `version: 0.0
os: linux
files:
  - source: uploads
    destination: /srv/shared/uploads
permissions:
  - object: /srv/shared
    pattern: uploads
    type: [directory]
    acls:
      - "u:deploy:rwx"
      - "g:web:rx"
      - "d:g:web:rx"
`,
    verdict: ok(),
  },
  {
    name: 'SELinux context for httpd content',
    rule: 'ContextInfo: name (the SELinux user), type and range',
    appspec: `version: 0.0
os: linux
files:
  - source: html
    destination: /var/www/html/app
permissions:
  - object: /var/www/html/app
    context:
      name: system_u
      type: httpd_sys_content_t
      range: s0
`,
    verdict: ok(),
  },
  {
    name: 'except keeps scripts executable while data files are not',
    rule: 'matches_except? removes direct children matching except',
    appspec: `version: 0.0
os: linux
files:
  - source: tools
    destination: /opt/tools
permissions:
  - object: /opt/tools
    pattern: "*"
    except: ["*.sh"]
    mode: 644
    type: [file]
  - object: /opt/tools
    pattern: "*.sh"
    mode: 755
    type: [file]
`,
    tree: { 'tools/run.sh': 'echo', 'tools/data.csv': 'a,b' },
    verdict: ok(),
  },
  {
    name: 'owner only, no mode',
    rule: 'LinuxPermissionInfo: owner and group alone are allowed',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: /home/app/current\npermissions:\n  - object: /home/app/current\n    owner: app\n',
    verdict: ok(),
  },
  {
    name: 'mode written with quotes and a leading zero',
    rule: 'ModeInfo: the string "0644" is four octal digits',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: conf\n    destination: /etc/app\npermissions:\n  - object: /etc/app\n    mode: "0640"\n    type: [file]\n',
    verdict: ok(),
  },
  {
    name: 'one-digit mode',
    rule: 'ModeInfo pads a short mode with zeros',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: secrets\n    destination: /etc/app/secrets\npermissions:\n  - object: /etc/app/secrets\n    mode: 0\n    type: [file]\n',
    verdict: ok(),
  },
  {
    name: 'Docker compose deploy',
    rule: 'hook scripts in any folder of the bundle',
    appspec: `version: 0.0
os: linux
files:
  - source: docker-compose.yml
    destination: /opt/stack
  - source: .env.production
    destination: /opt/stack
hooks:
  ApplicationStop:
    - location: ci/compose_down.sh
      timeout: 300
  AfterInstall:
    - location: ci/compose_pull.sh
      timeout: 1200
  ApplicationStart:
    - location: ci/compose_up.sh
      timeout: 600
  ValidateService:
    - location: ci/compose_ps.sh
`,
    verdict: ok(),
  },
  {
    name: '.NET on Linux with a systemd unit',
    rule: 'file sources are copied by basename',
    appspec: `version: 0.0
os: linux
files:
  - source: publish
    destination: /var/aspnet/api
  - source: systemd/kestrel-api.service
    destination: /etc/systemd/system
hooks:
  ApplicationStop:
    - location: scripts/stop_service.sh
  AfterInstall:
    - location: scripts/daemon_reload.sh
  ApplicationStart:
    - location: scripts/start_service.sh
  ValidateService:
    - location: scripts/check_service.sh
      timeout: 120
`,
    verdict: ok(),
  },
  {
    name: 'cron job installer',
    rule: 'a file into /etc/cron.d',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: cron/report\n    destination: /etc/cron.d\n  - source: report.py\n    destination: /usr/local/bin\npermissions:\n  - object: /usr/local/bin/report.py\n    mode: 755\n',
    tree: { 'cron/report': '0 * * * * root /usr/local/bin/report.py' },
    verdict: ok(),
  },
  {
    name: 'bundle inside a single top folder',
    rule: 'unpack_bundle strips a lone top folder that holds the appspec',
    folder: 'myapp-1.4.2',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /opt/myapp\nhooks:\n  ApplicationStart:\n    - location: start.sh\n',
    verdict: ok(),
  },
  {
    name: 'appspec.yaml spelling',
    rule: 'app_spec_real_path falls back to appspec.yaml',
    appspecName: 'appspec.yaml',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: www\n    destination: /var/www\nhooks:\n  AfterInstall:\n    - location: fix.sh\n',
    verdict: ok(),
  },
  {
    name: 'scripts with paths starting with /',
    rule: 'hook locations are joined to the archive folder',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: /scripts/start.sh\n      timeout: 100\n',
    tree: { 'scripts/start.sh': 'true' },
    verdict: ok(),
  },
  {
    name: 'single script using the default timeout',
    rule: 'ScriptInfo: timeout defaults to 3600',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: long_job.sh\n',
    verdict: ok(),
  },
  {
    name: 'two scripts filling an event to exactly 3600 s',
    rule: 'the documented per-event limit is 3600 s',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 1800\n    - location: b.sh\n      timeout: 1800\n',
    verdict: ok(),
  },
  {
    name: 'sudo on a runas script',
    rule: 'prepare_script_command: sudo su <runas> -c',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: start.sh\n      runas: app\n      sudo: true\n',
    verdict: ok(),
  },
  {
    name: 'empty events left in from a template',
    rule: 'parse_hooks ignores an empty event; [] runs nothing',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n  AfterInstall: []\n  ApplicationStart:\n    - location: start.sh\n',
    verdict: ok(),
  },
  {
    name: 'empty permissions and files keys',
    rule: "yaml_hash['files'] || []",
    appspec: 'version: 0.0\nos: linux\nfiles:\npermissions:\nhooks:\n',
    verdict: ok(),
  },
  {
    name: 'same object listed for files and for folders',
    rule: 'set_permissions refuses a path twice, not an object twice',
    appspec: `version: 0.0
os: linux
files:
  - source: site
    destination: /var/www/site
permissions:
  - object: /var/www/site
    mode: 644
    type: [file]
  - object: /var/www/site
    mode: 755
    type: [directory]
`,
    tree: { 'site/index.html': '<p>', 'site/css/app.css': 'a{}' },
    verdict: ok(),
  },
  {
    name: 'permission on a parent folder that already exists',
    rule: 'an existing folder above the install selects what is installed below it',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: /var/www/app\npermissions:\n  - object: /var/www\n    pattern: app\n    owner: www-data\n    type: [directory]\n',
    verdict: ok(),
  },
  {
    name: 'multiple sources into one folder',
    rule: 'copy refuses only one destination path twice',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: bin/cli\n    destination: /usr/local/bin\n  - source: bin/daemon\n    destination: /usr/local/bin\n',
    tree: { 'bin/cli': 'x', 'bin/daemon': 'y' },
    verdict: ok(),
  },
  {
    name: 'quoted values everywhere',
    rule: 'quoted scalars are strings (version excepted)',
    appspec: `version: 0.0
os: "linux"
files:
  - source: "dist"
    destination: "/srv/app"
hooks:
  "ApplicationStart":
    - location: "start.sh"
      timeout: "120"
      runas: "app"
`,
    verdict: ok(),
  },
  {
    name: 'a hook script given twice in one event',
    rule: 'scripts run in order, repeats included',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  ValidateService:\n    - location: check.sh\n      timeout: 30\n    - location: check.sh\n      timeout: 30\n',
    verdict: ok(),
  },
  {
    name: 'monorepo service folder as source',
    rule: 'nested folder source',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: services/api/dist\n    destination: /opt/api\nhooks:\n  ApplicationStart:\n    - location: services/api/deploy/start.sh\n',
    verdict: ok(),
  },
  {
    name: 'a Python worker run by supervisor',
    rule: 'ValidateService with a short timeout',
    appspec: `version: 0.0
os: linux
files:
  - source: worker
    destination: /opt/worker
  - source: supervisor/worker.conf
    destination: /etc/supervisor/conf.d
hooks:
  BeforeInstall:
    - location: deploy/install_packages.sh
      timeout: 900
      runas: root
  AfterInstall:
    - location: deploy/pip.sh
      timeout: 900
  ApplicationStart:
    - location: deploy/supervisorctl_restart.sh
      timeout: 60
  ValidateService:
    - location: deploy/check_worker.sh
      timeout: 15
`,
    verdict: ok(),
  },
  {
    name: 'a release folder with a symlink switch script',
    rule: 'hooks do the switching; files only copies',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /var/releases/next\nhooks:\n  AfterInstall:\n    - location: switch_current.sh\n      timeout: 30\n      runas: deploy\n',
    verdict: ok(),
  },
  {
    name: 'an SELinux context with a category range',
    rule: 'RangeInfo: sensitivity and categories',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: data\n    destination: /srv/data\npermissions:\n  - object: /srv/data\n    context:\n      type: var_t\n      range: s0:c0.c5\n',
    verdict: ok(),
  },
  {
    name: 'long timeouts split over events',
    rule: 'each event is within 3600 s on its own',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: backup.sh\n      timeout: 3600\n  AfterInstall:\n    - location: migrate.sh\n      timeout: 3600\n',
    verdict: ok(),
  },
];

// ---- single-change variants, one per class ----
const BASE = `version: 0.0
os: linux
files:
  - source: site
    destination: /var/www/site
hooks:
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 300
`;

export const VARIANTS: CorpusCase[] = [
  // Accepted by CodeDeploy (with a warning where it silently does nothing).
  {
    name: 'an unknown key in a files entry (overwrite: yes)',
    rule: 'parse_files reads source and destination only',
    appspec: BASE.replace('    destination: /var/www/site\n', '    destination: /var/www/site\n    overwrite: yes\n'),
    verdict: ok(/overwrite is not read by CodeDeploy in a files entry.*file_exists_behavior: OVERWRITE.*\(line 6, column 5\)/),
  },
  {
    name: 'a relative destination',
    rule: 'parse_files keeps destination as written; the installer joins it to the agent\'s working folder (/ for its service)',
    appspec: BASE.replace('    destination: /var/www/site\n', '    destination: var/www/site\n'),
    verdict: ok(/var\/www\/site is relative: .*installs to \/var\/www\/site; write \/var\/www\/site/),
  },
  {
    name: 'a timeout with a unit ("300s")',
    rule: 'ScriptInfo: "300s".to_i is 300',
    appspec: BASE.replace('timeout: 300', 'timeout: "300s"'),
    verdict: ok(/"300s" is read by CodeDeploy as 300 seconds/),
  },
  {
    name: 'an empty runas',
    rule: 'parse_hooks keeps "" and prepare_script_command runs su with no user (root)',
    appspec: BASE.replace('      timeout: 300\n', '      timeout: 300\n      runas: ""\n'),
    verdict: ok(/runas is empty: .*as root/),
  },
  {
    name: 'sudo on a hook',
    rule: 'ScriptInfo keeps sudo; prepare_script_command prefixes sudo',
    appspec: BASE.replace('      timeout: 300\n', '      timeout: 300\n      sudo: true\n'),
    verdict: ok(),
  },
  {
    name: 'scripts under Install',
    rule: 'Install is the agent\'s own step: no hook mapping runs its scripts',
    appspec: BASE.replace('  ApplicationStart:', '  Install:\n    - location: scripts/start.sh\n  ApplicationStart:'),
    verdict: ok(/Install is a step CodeDeploy performs itself.*BeforeInstall or AfterInstall/),
  },
  {
    name: 'an event written "Before Install"',
    rule: 'hooks are looked up by exact name',
    appspec: BASE.replace('ApplicationStart:', 'Before Install:'),
    verdict: ok(/Before Install is not a lifecycle event.*rename it to BeforeInstall/),
  },
  {
    name: 'an event in the wrong case (applicationStart)',
    rule: 'hooks are looked up by exact name',
    appspec: BASE.replace('ApplicationStart:', 'applicationStart:'),
    verdict: ok(/applicationStart is not a lifecycle event.*rename it to ApplicationStart/),
  },
  {
    name: 'a custom event name',
    rule: 'only DEFAULT_HOOK_MAPPING events run in a CodeDeploy deployment',
    appspec: BASE.replace('ApplicationStart:', 'Deploy:'),
    verdict: ok(/Deploy is not a lifecycle event: CodeDeploy never runs its scripts/),
  },
  {
    name: 'Hooks with a capital H',
    rule: "ApplicationSpecification reads yaml_hash['hooks'] only",
    appspec: BASE.replace('hooks:', 'Hooks:'),
    verdict: ok(/Hooks is not read by CodeDeploy.*rename it to hooks/),
  },
  {
    name: 'Files with a capital F',
    rule: "ApplicationSpecification reads yaml_hash['files'] only",
    appspec: BASE.replace('files:', 'Files:'),
    verdict: ok(/Files is not read by CodeDeploy.*rename it to files/),
  },
  {
    name: 'hooks written at the top level',
    rule: 'top-level keys other than the six are never read',
    appspec: 'version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /var/www/site\nApplicationStart:\n  - location: scripts/start.sh\n',
    verdict: ok(/hooks written at the top level never run; indent ApplicationStart under hooks/),
  },
  {
    name: 'an event with nothing under it',
    rule: 'parse_hooks: empty hooks are ignored',
    appspec: BASE.replace('  ApplicationStart:\n', '  AfterInstall:\n  ApplicationStart:\n'),
    verdict: ok(),
  },
  {
    name: 'an event with []',
    rule: 'is_noop? for an empty list',
    appspec: BASE.replace('  ApplicationStart:\n', '  AfterInstall: []\n  ApplicationStart:\n'),
    verdict: ok(),
  },
  {
    name: 'a duplicate top-level key',
    rule: 'the agent\'s YAML library keeps the last value of a repeated key',
    appspec: `${BASE}hooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n      timeout: 60\n`,
    verdict: ok(/hooks is given again \(first at line 6\).*keeps only the last one/),
  },
  {
    name: 'the same object listed twice with different patterns',
    rule: 'install_instruction: the conflict is one path set twice',
    appspec: `${BASE}permissions:\n  - object: /var/www/site\n    pattern: "*.html"\n    mode: 644\n    type: [file]\n  - object: /var/www/site\n    pattern: "*.css"\n    mode: 640\n    type: [file]\n`,
    tree: { 'site/index.html': '<p>', 'site/app.css': 'a{}' },
    verdict: ok(),
  },
  {
    name: 'a pattern containing /',
    rule: 'matches_simple_glob returns false for names with /',
    appspec: `${BASE}permissions:\n  - object: /var/www/site\n    pattern: "css/*.css"\n    mode: 644\n    type: [file]\n`,
    verdict: ok(/"css\/\*\.css" can never match/),
  },
  {
    name: 'an except entry containing /',
    rule: 'matches_simple_glob returns false for names with /',
    appspec: `${BASE}permissions:\n  - object: /var/www/site\n    except: ["private/*"]\n    mode: 755\n    type: [directory]\n`,
    verdict: ok(/"private\/\*" can never match: CodeDeploy matches except/),
  },
  {
    name: 'an unquoted leading-zero mode that is still octal (0644 is 420)',
    rule: 'YAML 1.1 reads 0644 as octal 420; ModeInfo accepts "420"',
    appspec: `${BASE}permissions:\n  - object: /var/www/site\n    mode: 0644\n    type: [file]\n`,
    verdict: ok(/0644 unquoted is read .* 420 in decimal, and CodeDeploy sets mode 420/),
  },
  {
    name: 'an unknown key in a permission',
    rule: 'parse_permissions reads only its known keys',
    appspec: `${BASE}permissions:\n  - object: /var/www/site\n    recursive: true\n    mode: 755\n`,
    verdict: ok(/recursive is not read by CodeDeploy in a permission/),
  },
  {
    name: 'a runAs key in the wrong case',
    rule: 'parse_hooks reads runas only',
    appspec: BASE.replace('      timeout: 300\n', '      timeout: 300\n      runAs: app\n'),
    verdict: ok(/runAs is not read by CodeDeploy in a hook script.*rename it to runas/),
  },
  {
    name: 'a YAML alias',
    rule: 'Psych 3 expands aliases, Psych 4 (Ruby 3.1+) refuses them: accepted with a warning',
    appspec: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - &start\n      location: scripts/start.sh\n      timeout: 60\n  ValidateService:\n    - *start\n',
    verdict: ok(/\*start is a YAML alias: CodeDeploy agents on Ruby 3\.1 or later refuse/),
  },
  {
    name: 'a BOM before a comment on the first line',
    rule: 'the agent\'s parser reads the keys after a commented first line',
    appspec: `\uFEFF# deploy descriptor\n${BASE}`,
    verdict: ok(),
  },
  {
    name: 'a timeout written 0:30 (YAML 1.1 sexagesimal)',
    rule: 'Psych reads 0:30 as 1800 seconds',
    appspec: BASE.replace('timeout: 300', 'timeout: 0:30'),
    verdict: ok(),
  },

  // Refused by CodeDeploy.
  {
    name: 'version as the string "0.0"',
    rule: 'parse_version compares with the number 0.0',
    appspec: BASE.replace('version: 0.0', 'version: "0.0"'),
    verdict: no(/is the string "0\.0".*write version: 0\.0 without quotes/),
  },
  {
    name: 'a BOM directly before version',
    rule: 'the agent\'s parser loses the keys after a BOM glued to the first key',
    appspec: `\uFEFF${BASE}`,
    verdict: no(/byte-order mark directly before its first key/),
  },
  {
    name: 'an unquoted leading-zero mode that is not a mode in octal (0755 is 493)',
    rule: 'YAML 1.1 reads 0755 as 493; ModeInfo refuses the digit 9',
    appspec: `${BASE}permissions:\n  - object: /var/www/site\n    mode: 0755\n`,
    verdict: no(/0755 unquoted is read .* 493 in decimal, which is not a mode.*quote it \("0755"\)/),
  },
  {
    name: 'one installed file matched by two permission entries',
    rule: 'set_permissions raises when a path is set twice',
    appspec: `${BASE}permissions:\n  - object: /var/www/site\n    pattern: "*.html"\n    mode: 644\n    type: [file]\n  - object: /var/www/site\n    pattern: "index*"\n    mode: 600\n    type: [file]\n`,
    tree: { 'site/index.html': '<p>' },
    verdict: no(/sets permissions on \/var\/www\/site\/index\.html, which \$\.permissions\[0\] sets too/),
  },
  {
    name: 'a files source with a trailing slash that names a file',
    rule: 'File.directory? is false, and copying "file/" fails',
    appspec: BASE.replace('source: site', 'source: site.conf/'),
    tree: { 'site.conf': 'x' },
    verdict: no(/site\.conf\/ ends with \/ but site\.conf is a file/),
  },
  {
    name: 'an appspec in a top folder with a README beside it',
    rule: 'unpack_bundle strips a top folder only when it is the only entry',
    folder: 'app',
    tree: { '../README.md': 'read me' },
    appspec: BASE,
    verdict: no(/app\/ holds one, but CodeDeploy looks inside a top-level folder only when it is the archive's only entry, and README\.md sits beside it/),
  },
  {
    name: 'two sources installing the same destination file',
    rule: 'copy raises for one destination given twice',
    appspec: BASE.replace('files:\n', 'files:\n  - source: extra/index.html\n    destination: /var/www/site\n'),
    tree: { 'site/index.html': '<p>', 'extra/index.html': '<p>' },
    verdict: no(/installs \/var\/www\/site\/index\.html, which \$\.files\[0\] installs too/),
  },
  {
    name: 'one script longer than an event may run',
    rule: 'CodeDeploy documents 3600 s per lifecycle event',
    appspec: BASE.replace('timeout: 300', 'timeout: 5400'),
    verdict: no(/ApplicationStart's scripts may run 5400 s together \(scripts\/start\.sh \(5400 s\)\), more than the 3600 s/),
  },
  {
    name: 'scripts of one event adding up past the limit',
    rule: 'CodeDeploy documents 3600 s per lifecycle event',
    appspec: BASE.replace('      timeout: 300\n', '      timeout: 3000\n    - location: scripts/warm.sh\n      timeout: 601\n'),
    verdict: no(/3601 s together .* or move some scripts to another event/),
  },
  {
    name: 'a script written as a bare path',
    rule: 'parse_hooks calls has_key? on each script',
    appspec: BASE.replace('    - location: scripts/start.sh\n      timeout: 300\n', '    - scripts/start.sh\n'),
    verdict: no(/"- location: scripts\/start\.sh"/),
  },
  {
    name: 'a timeout that reads as 0',
    rule: 'ScriptInfo refuses a timeout <= 0 ("soon".to_i is 0)',
    appspec: BASE.replace('timeout: 300', 'timeout: soon'),
    verdict: no(/"soon" is not a number of seconds \(CodeDeploy reads it as 0/),
  },
  {
    name: 'a bad script under an event that never runs',
    rule: 'parse_hooks reads every event\'s scripts',
    appspec: BASE.replace('  ApplicationStart:\n', '  Custom:\n    - timeout: 5\n  ApplicationStart:\n'),
    verdict: no(/is required/),
  },
  {
    name: 'windows as os',
    rule: 'parse_os accepts windows, but this agent runs on Linux only',
    appspec: BASE.replace('os: linux', 'os: windows'),
    verdict: no(/windows is not supported by this agent/),
  },
  {
    name: 'os in capitals',
    rule: 'parse_os: supported_oses include? the exact string, so Linux is unsupported',
    appspec: BASE.replace('os: linux', 'os: Linux'),
    verdict: no(/is "Linux": CodeDeploy compares os exactly/),
  },
];
