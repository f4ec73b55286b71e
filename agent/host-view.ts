import { execFile } from 'node:child_process';
import { posix } from 'node:path';

/**
 * Local mode installs a host's appspec destinations under its own folder
 * (`--root`). A hook that does `cd /var/www/app && npm ci` must still find the
 * files there: each hook runs in a private mount namespace in which the host's
 * folder is mounted over the appspec's destinations. Where the kernel forbids
 * that (no user namespaces, say), hooks see the installed files only under
 * HOST_ROOT_VARIABLE, which every hook of a rooted agent gets.
 */
export const HOST_ROOT_VARIABLE = 'FLEETLINE_HOST_ROOT';

/** The util-linux program that makes the namespace; a test may name another (a missing one is the fallback). */
const UNSHARE = process.env.FLEETLINE_UNSHARE ?? 'unshare';

export interface HostView {
  /** The host's folder, standing for `/`. */
  root: string;
  /** How the namespace is made: as root, a mount namespace alone; otherwise a user namespace too. */
  mode: 'root' | 'user';
}

/**
 * Runs as root in the new mount namespace: `$1` the host folder, `$2` how many
 * destinations follow, then the destinations, `--`, and the command. A
 * destination that exists is mounted over; one that does not gets a mount point
 * in a tmpfs laid over its nearest existing parent, in which every entry of that
 * parent is mounted back from the covered folder, the shell's working directory
 * (--no-canonicalize: mount would otherwise turn the relative name into the new,
 * empty path). Nothing is created outside the host folder. The root
 * itself cannot be laid over: such a destination is only under the variable.
 * The command runs in the folder the script was started in.
 */
const MOUNT_SCRIPT = `
wd=$PWD
root=$1; n=$2; shift 2
i=0
while [ "$i" -lt "$n" ]; do
  d=$1; shift; i=$((i + 1))
  host="$root$d"
  mkdir -p "$host" || continue
  if [ ! -d "$d" ]; then
    a=$(dirname "$d")
    while [ ! -e "$a" ] && [ ! -L "$a" ]; do a=$(dirname "$a"); done
    if [ "$a" = / ] || [ -L "$a" ] || [ ! -d "$a" ]; then
      echo "fleetline: $d is not shown at its own path here (nothing to mount it over): it is at \\$${HOST_ROOT_VARIABLE}$d" >&2
      continue
    fi
    cd "$a" || continue
    if ! mount -t tmpfs -o "mode=$(stat -c %a .)" fleetline-host "$a"; then
      echo "fleetline: could not show $d at its own path: it is at \\$${HOST_ROOT_VARIABLE}$d" >&2
      cd /; continue
    fi
    for e in .* *; do
      case "$e" in .|..) continue ;; esac
      if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$a/$e"
      elif [ -d "$e" ]; then mkdir "$a/$e" && mount --no-canonicalize --rbind "$e" "$a/$e"
      elif [ -e "$e" ]; then : > "$a/$e" && mount --no-canonicalize --bind "$e" "$a/$e"
      fi
    done
    cd /
    mkdir -p "$d"
  fi
  mount --bind "$host" "$d" || echo "fleetline: could not show $d at its own path: it is at \\$${HOST_ROOT_VARIABLE}$d" >&2
done
shift
cd "$wd" || exit 1
exec "$@"
`;

let probed: Promise<HostView['mode'] | { problem: string }> | undefined;

/** Whether hooks can run in a private mount namespace on this machine (asked once). */
export function probeHostView(): Promise<HostView['mode'] | { problem: string }> {
  const mode: HostView['mode'] = process.getuid?.() === 0 ? 'root' : 'user';
  probed ??= new Promise((resolve) => {
    execFile(UNSHARE, [...namespaceFlags(mode), 'true'], { timeout: 10_000 }, (error, _out, stderr) => {
      if (!error) return resolve(mode);
      const why = String(stderr).trim().split('\n').at(-1) || (error as Error).message;
      resolve({ problem: why.slice(0, 200) });
    });
  });
  return probed;
}

function namespaceFlags(mode: HostView['mode']): string[] {
  return mode === 'root' ? ['--mount', '--propagation', 'private'] : ['--user', '--map-root-user', '--mount', '--propagation', 'private'];
}

/**
 * The command line that runs `command` with the host folder mounted over
 * `destinations`. `identity` (runas) is taken on after the mounts; without a
 * runas, an unprivileged agent's hook gets its own user back in a nested user
 * namespace, so a script sees the user it runs as, never a mapped root.
 */
export function inHostView(
  view: HostView,
  destinations: readonly string[],
  command: readonly string[],
  identity?: { uid: number; gid: number },
): { file: string; args: string[] } {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  // An unprivileged agent runs hooks only as itself (hooks.ts): no runas to take on then.
  const become = identity && view.mode === 'root'
    ? ['setpriv', `--reuid=${identity.uid}`, `--regid=${identity.gid}`, '--init-groups', '--']
    : view.mode === 'user'
      ? [UNSHARE, '--user', `--map-user=${uid}`, `--map-group=${gid}`, '--']
      : [];
  const targets = outermost(destinations);
  return {
    file: UNSHARE,
    args: [...namespaceFlags(view.mode), '--', '/bin/sh', '-c', MOUNT_SCRIPT, 'fleetline-host-view', view.root, String(targets.length), ...targets, '--', ...become, ...command],
  };
}

/** Each destination once, and none inside another: the outer mount shows what is below it. */
export function outermost(destinations: readonly string[]): string[] {
  // The root cannot be mounted over (what is installed there is only under the variable).
  const clean = [...new Set(destinations.map((d) => posix.resolve('/', d)))].filter((d) => d !== '/').sort();
  return clean.filter((d) => !clean.some((o) => o !== d && d.startsWith(`${o}/`)));
}
