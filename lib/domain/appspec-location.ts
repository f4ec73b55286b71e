import { posix } from 'node:path';

export const APPSPEC_NAME = 'appspec.yml';
/** The names the CodeDeploy agent looks for, in its order: appspec.yml first, else appspec.yaml. */
export const APPSPEC_NAMES = [APPSPEC_NAME, 'appspec.yaml'] as const;

/**
 * Where a bundle's appspec is, and so which folder is the bundle's root
 * (`''` for the archive root, else `folder/`). `ignored` is always 0 now that
 * a folder is taken as the root only when nothing lies beside it.
 */
export type AppspecLocation = { root: string; appspecPath: string; ignored: number } | { problem: string };

/** `./a//b` and `a/b` are the same entry. */
export function normaliseEntryPath(path: string): string {
  const normal = posix.normalize(path.replace(/^(\.\/)+/, ''));
  return normal === '.' ? '' : normal.replace(/\/+$/, '');
}

/** The appspec's name in a folder whose entries are `names`, in the agent's order. */
const appspecIn = (names: ReadonlySet<string>) => APPSPEC_NAMES.find((n) => names.has(n));

/**
 * The one rule for finding the appspec, used by preflight, `bundle validate`
 * and the agent, as the CodeDeploy agent applies it after unpacking: an
 * appspec.yml (else appspec.yaml) at the archive root; otherwise, when the
 * archive's root holds exactly one entry, a folder with something named like
 * "appspec" directly inside, that folder becomes the root. Anything beside
 * such a folder (even a README or a `__MACOSX` folder) keeps CodeDeploy from
 * looking inside it. `files` are the bundle's regular files, `dirs` its folder
 * entries (empty folders count as entries too).
 */
export function locateAppspec(files: readonly string[], dirs: readonly string[] = []): AppspecLocation {
  const paths = [...files, ...dirs].map(normaliseEntryPath).filter((p) => p !== '');
  const top = new Set<string>();
  const children = new Map<string, Set<string>>();
  const rootFiles = new Set<string>();
  for (const path of files.map(normaliseEntryPath)) if (path !== '' && !path.includes('/')) rootFiles.add(path);
  for (const path of paths) {
    const [first, second] = path.split('/') as [string, string | undefined];
    top.add(first);
    if (second !== undefined) {
      let set = children.get(first);
      if (!set) children.set(first, (set = new Set()));
      set.add(second);
    }
  }
  const atRoot = appspecIn(rootFiles);
  if (atRoot) return { root: '', appspecPath: atRoot, ignored: 0 };
  if (paths.length === 0) return { problem: `the bundle is empty: it needs ${APPSPEC_NAME} at its root` };

  const holding = [...children].filter(([, names]) => [...names].some((n) => /appspec/i.test(n))).map(([folder]) => folder).sort();
  const [only] = top;
  if (top.size === 1 && only !== undefined && holding.includes(only)) {
    const inside = new Set(files.map(normaliseEntryPath).filter((p) => p.startsWith(`${only}/`)).map((p) => p.slice(only.length + 1)));
    const name = appspecIn(inside);
    if (name) return { root: `${only}/`, appspecPath: `${only}/${name}`, ignored: 0 };
    return { problem: `the bundle's only folder ${only}/ has no ${APPSPEC_NAME} (nor appspec.yaml) directly inside` };
  }
  const withAppspec = holding.filter((folder) => appspecIn(new Set([...(children.get(folder) ?? [])].filter((n) => files.some((f) => normaliseEntryPath(f) === `${folder}/${n}`)))));
  if (withAppspec.length > 0) {
    const beside = [...top].filter((t) => t !== withAppspec[0]).sort().slice(0, 5).join(', ');
    return {
      problem:
        `the bundle has no ${APPSPEC_NAME} at its root; ${withAppspec[0]}/ holds one, but CodeDeploy looks inside a top-level folder ` +
        `only when it is the archive's only entry, and ${beside} ${top.size > 2 ? 'sit' : 'sits'} beside it: put ${APPSPEC_NAME} at the root, or archive the folder alone`,
    };
  }
  return { problem: `the bundle has no ${APPSPEC_NAME} (nor appspec.yaml) at its root` };
}
