import { localStateDir, resetState } from './state-dir.js';

/** `npm run reset`: wipes the local state (FLEETLINE_STATE_DIR or .fleetline/). */
try {
  console.log(resetState(localStateDir()));
} catch (error) {
  console.error(`reset refused: ${(error as Error).message}`);
  process.exitCode = 1;
}
