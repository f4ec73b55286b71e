import { describe } from 'vitest';
import { portContract } from '../contract/ports.contract.js';
import { fakeRepositories } from '../fakes/repositories.js';
import { createFleetStore } from '../fakes/state.js';
import { Meter } from '../fakes/store.js';

describe('the in-memory fakes keep the ports\' contract', () => {
  portContract(async () => {
    const meter = new Meter();
    return { ...fakeRepositories(createFleetStore(), meter), writes: () => meter.writes };
  });
});
