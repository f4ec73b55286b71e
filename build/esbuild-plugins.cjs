// esbuild plugins for `osls package` (serverless-esbuild builds one function entry per esbuild run).
const { mkdirSync, readdirSync, renameSync } = require('node:fs');
const { basename, dirname, extname, join, relative, resolve } = require('node:path');

const SOURCEMAP_DIR = join(process.cwd(), 'dist', 'sourcemaps');

function* filesUnder(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/**
 * Each function's lazily loaded chunks go to `<function>.chunks/`, so the packager
 * (which leaves `<other function>.*` out of a function's zip) ships every zip only
 * its own chunks. External source maps are moved out of the build directory into
 * dist/sourcemaps/: they never reach a zip, and stay available to decode stack traces.
 */
const functionChunks = {
  name: 'fleetline-function-chunks',
  setup(build) {
    const options = build.initialOptions;
    const [entry] = Array.isArray(options.entryPoints) ? options.entryPoints : Object.values(options.entryPoints ?? {});
    if (typeof entry !== 'string' || !options.outdir) return;
    options.chunkNames = `${basename(entry, extname(entry))}.chunks/[name]-[hash]`;
    const buildRoot = resolve(options.outdir, relative(dirname(entry), '.'));
    build.onEnd(() => {
      for (const file of filesUnder(options.outdir)) {
        if (!file.endsWith('.map')) continue;
        const target = join(SOURCEMAP_DIR, relative(buildRoot, file));
        mkdirSync(dirname(target), { recursive: true });
        try {
          renameSync(file, target);
        } catch (error) {
          // Another function's build, running alongside, moved it first.
          if (error.code !== 'ENOENT') throw error;
        }
      }
    });
  },
};

/**
 * zod re-exports all of its ~50 message locales (a quarter of a megabyte of
 * minified code every function would compile at cold start) although it only
 * ever uses English, which it imports on its own. The aggregate becomes empty.
 */
const englishOnlyZod = {
  name: 'fleetline-english-only-zod',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'fleetline-empty' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'fleetline-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

module.exports = [functionChunks, englishOnlyZod];
