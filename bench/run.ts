// First: from here on stdout holds only the figures (logs go to stderr).
import './figures-only-stdout.js';
import { benchAgentPoll } from './agent-poll.js';
import { benchBundleBombs } from './bundle-bombs.js';
import { benchCliUpload } from './cli-upload.js';
import { benchDeploymentCapacity } from './deployment-capacity.js';
import { benchFanout } from './fanout.js';
import { benchFunctionBundles } from './function-bundles.js';
import { benchIdleCost } from './idle-cost.js';
import { benchLiveLogs } from './live-logs.js';
import { benchUploadToSuccess } from './upload-to-success.js';

/** `npm run bench`: every benchmark in turn, one JSON line per figure. */
const benches: [string, () => Promise<unknown>][] = [
  ['function-bundles', benchFunctionBundles],
  ['fanout', benchFanout],
  ['deployment-capacity', benchDeploymentCapacity],
  ['agent-poll', benchAgentPoll],
  ['idle-cost', benchIdleCost],
  ['upload-to-success', benchUploadToSuccess],
  ['bundle-bombs', benchBundleBombs],
  ['cli-upload', benchCliUpload],
  ['live-logs', benchLiveLogs],
];

/** Figures printed by another bench: `npm run bench -- agent-requests` runs the one that measures them. */
const aliases: Record<string, string> = { 'agent-requests': 'upload-to-success' };

const only = process.argv[2] && (aliases[process.argv[2]] ?? process.argv[2]);
for (const [name, run] of benches) {
  if (only && only !== name) continue;
  await run();
}
// fetch keeps idle keep-alive sockets open for a while; the figures are printed, so leave now.
process.exit(0);
