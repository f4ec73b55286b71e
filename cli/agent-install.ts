import { UsageError } from './api.js';
import { AGENT_VERSION, AGENT_VERSION_PATTERN } from '../lib/domain/agent-presence.js';
import { SHA256_HEX_PATTERN, agentChecksumKey, agentObjectKey } from '../lib/domain/agent-package.js';

export interface InstallOptions {
  api: string;
  bucket: string;
  /** The published agent version to install (default: this CLI's own, the version its stack publishes). */
  agentVersion?: string | undefined;
  /** The hex SHA-256 the agent must have; without it, the one published beside it in the bucket. */
  sha256?: string | undefined;
  /** On-premises hosts name themselves; EC2 agents read their ID from IMDS. */
  instanceId?: string | undefined;
  tags: string[];
}

/** Only what a shell line can carry unquoted and a systemd unit takes as is: the values go into both. */
const SAFE = /^[A-Za-z0-9._~:/@+=,-]+$/;

function checked(options: InstallOptions): InstallOptions {
  let api: URL;
  try {
    api = new URL(options.api);
  } catch {
    throw new UsageError(`--api ${options.api}: not a URL`);
  }
  if (api.protocol !== 'https:' && !(api.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(api.hostname))) {
    throw new UsageError(`--api ${options.api}: must be https:// (http:// only to a loopback host)`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) throw new UsageError(`--bucket ${options.bucket}: not an S3 bucket name`);
  for (const value of [options.api, options.instanceId ?? 'x', ...options.tags]) {
    if (!SAFE.test(value)) throw new UsageError(`${JSON.stringify(value)}: only letters, digits and ._~:/@+=,- may be used`);
  }
  for (const tag of options.tags) if (!/^[^=]+=/.test(tag)) throw new UsageError(`--tag ${tag}: must be key=value`);
  if (options.agentVersion !== undefined && !AGENT_VERSION_PATTERN.test(options.agentVersion)) throw new UsageError(`--agent-version ${options.agentVersion}: must be a version such as ${AGENT_VERSION}`);
  if (options.sha256 !== undefined && !SHA256_HEX_PATTERN.test(options.sha256)) throw new UsageError(`--sha256 ${options.sha256}: must be 64 lowercase hex digits`);
  return options;
}

/** The agent's systemd unit: restarted whenever it stops, with the hardening that leaves hooks free to install anywhere. */
export function systemdUnit(options: InstallOptions): string {
  return unitText(checked(options));
}

function unitText({ api, instanceId, tags }: Pick<InstallOptions, 'api' | 'instanceId' | 'tags'>): string {
  const args = [`--api ${api}`, '--state-dir /var/lib/fleetline-agent', ...(instanceId ? [`--instance-id ${instanceId}`] : []), ...(tags.length ? [`--tags ${tags.join(',')}`] : [])];
  return `[Unit]
Description=Fleetline deployment agent
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=/usr/bin/env node /opt/fleetline/fleetline-agent.mjs run ${args.join(' ')}
# The agent kills a hook's whole process group itself; systemd only stops the agent.
KillMode=mixed
TimeoutStopSec=30
Restart=always
RestartSec=5
StateDirectory=fleetline-agent
UMask=0022
# Hooks install files anywhere and may run as other users (runas), as CodeDeploy's do: the
# file system stays writable and privileges may change; the kernel's own settings may not.
ProtectKernelModules=yes
ProtectKernelTunables=yes
ProtectKernelLogs=yes
ProtectClock=yes
ProtectControlGroups=yes
LockPersonality=yes
RestrictRealtime=yes

[Install]
WantedBy=multi-user.target
`;
}

/**
 * A shell script for cloud-init user data (or any root shell): installs Node.js
 * when no Node 20 or later is there, fetches the agent version the stack
 * published from the artifact bucket with the instance's role, checks its
 * SHA-256 (the one given, or the one published beside it), writes the unit and
 * starts it. FLEETLINE_ROOT, when set, installs under another root (tests).
 */
export function userDataScript(options: InstallOptions): string {
  const { agentVersion, sha256, ...rest } = checked(options);
  return installScript({ ...rest, version: agentVersion ?? AGENT_VERSION, pinnedSha256: sha256 ?? '' });
}

/**
 * The install script itself, for values already checked: the CLI's (above), or
 * the stack's SSM document, whose API URL comes from the template and whose
 * version and checksum are the document's parameters (SSM checks them against
 * their patterns before substituting them).
 */
export function installScript(values: { api: string; bucket: string; version: string; pinnedSha256: string; instanceId?: string | undefined; tags: string[] }): string {
  const unit = unitText(values);
  const { bucket, version } = values;
  const object = `s3://${bucket}/${agentObjectKey(version)}`;
  const checksum = `s3://${bucket}/${agentChecksumKey(version)}`;
  return `#!/bin/sh
# Fleetline agent ${version} install (cloud-init user data, or run as root on an existing host).
set -eu
ROOT="\${FLEETLINE_ROOT:-}"
node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  if command -v dnf >/dev/null 2>&1; then dnf install -y nodejs20 || dnf install -y nodejs
  elif command -v apt-get >/dev/null 2>&1; then apt-get update && apt-get install -y nodejs
  else echo "fleetline: no Node.js 20 or later, and no dnf or apt-get to install it" >&2; exit 1
  fi
  [ "$(node_major)" -ge 20 ] || { echo "fleetline: the installed Node.js is older than 20" >&2; exit 1; }
fi
command -v aws >/dev/null 2>&1 || { echo "fleetline: the AWS CLI is needed to fetch the agent from ${object}" >&2; exit 1; }
command -v sha256sum >/dev/null 2>&1 || { echo "fleetline: sha256sum (coreutils) is needed to check the agent" >&2; exit 1; }
mkdir -p "$ROOT/opt/fleetline" "$ROOT/etc/systemd/system"
NEW="$ROOT/opt/fleetline/fleetline-agent.mjs.new"
aws s3 cp "${object}" "$NEW" || { echo "fleetline: cannot fetch ${object} (is agent ${version} published? osls deploy publishes it)" >&2; exit 1; }
# The SHA-256 the agent must have: the one given, or the one published beside it.
EXPECTED="${values.pinnedSha256}"
if [ -z "$EXPECTED" ]; then
  CHECKSUM="$(aws s3 cp "${checksum}" -)" || { echo "fleetline: cannot read the agent's checksum ${checksum} (is agent ${version} published? osls deploy publishes it)" >&2; exit 1; }
  EXPECTED="$(printf '%s' "$CHECKSUM" | cut -c1-64)"
fi
ACTUAL="$(sha256sum "$NEW" | cut -c1-64)"
if [ "$ACTUAL" != "$EXPECTED" ]; then
  rm -f "$NEW"
  echo "fleetline: ${object} has SHA-256 $ACTUAL, not $EXPECTED: not installed (publish it again with osls deploy)" >&2
  exit 1
fi
chmod 0755 "$NEW"
mv "$NEW" "$ROOT/opt/fleetline/fleetline-agent.mjs"
cat > "$ROOT/etc/systemd/system/fleetline-agent.service" <<'FLEETLINE_UNIT'
${unit}FLEETLINE_UNIT
systemctl daemon-reload
systemctl enable fleetline-agent
systemctl restart fleetline-agent
echo "fleetline: agent ${version} installed and started"
`;
}

/** The same install as one shell command, for hosts already running. */
export function installCommand(options: InstallOptions): string {
  const script = Buffer.from(userDataScript(options)).toString('base64');
  return `echo ${script} | base64 -d | sudo sh`;
}
