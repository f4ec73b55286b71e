import { benchFanout } from './fanout.js';
import { benchFunctionBundles } from './function-bundles.js';

/** `npm run bench`: every benchmark in turn, one JSON line per figure. */
const benches: [string, () => Promise<unknown>][] = [
  ['function-bundles', benchFunctionBundles],
  ['fanout', benchFanout],
];

const only = process.argv[2];
for (const [name, run] of benches) {
  if (only && only !== name) continue;
  await run();
}
