import { UsageError } from './api.js';

/** Where the stack's artifact bucket holds the single-file agent (the agent role may read only this prefix). */
export const AGENT_OBJECT_KEY = 'fleetline-agent/fleetline-agent.mjs';

export interface InstallOptions {
  api: string;
  bucket: string;
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
  return options;
}

/** The agent's systemd unit: restarted whenever it stops, with the hardening that leaves hooks free to install anywhere. */
export function systemdUnit(options: InstallOptions): string {
  const { api, instanceId, tags } = checked(options);
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
 * when no Node 20 or later is there, fetches the single-file agent from the
 * artifact bucket with the instance's role, writes the unit and starts it.
 * FLEETLINE_ROOT, when set, installs under another root (packaging, tests).
 */
export function userDataScript(options: InstallOptions): string {
  const unit = systemdUnit(options);
  return `#!/bin/sh
# Fleetline agent install (cloud-init user data, or run as root on an existing host).
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
command -v aws >/dev/null 2>&1 || { echo "fleetline: the AWS CLI is needed to fetch the agent from s3://${options.bucket}/${AGENT_OBJECT_KEY}" >&2; exit 1; }
mkdir -p "$ROOT/opt/fleetline" "$ROOT/etc/systemd/system"
aws s3 cp "s3://${options.bucket}/${AGENT_OBJECT_KEY}" "$ROOT/opt/fleetline/fleetline-agent.mjs.new"
mv "$ROOT/opt/fleetline/fleetline-agent.mjs.new" "$ROOT/opt/fleetline/fleetline-agent.mjs"
chmod 0755 "$ROOT/opt/fleetline/fleetline-agent.mjs"
cat > "$ROOT/etc/systemd/system/fleetline-agent.service" <<'FLEETLINE_UNIT'
${unit}FLEETLINE_UNIT
systemctl daemon-reload
systemctl enable fleetline-agent
systemctl restart fleetline-agent
echo "fleetline: agent installed and started"
`;
}

/** The same install as one shell command, for hosts already running. */
export function installCommand(options: InstallOptions): string {
  const script = Buffer.from(userDataScript(options)).toString('base64');
  return `echo ${script} | base64 -d | sudo sh`;
}
