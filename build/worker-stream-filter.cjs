// Which of the table's stream records reach the worker: the filter patterns of its event source
// mapping (serverless.yml: ${file(./build/worker-stream-filter.cjs):patterns}), which the local
// stream poller (local/stream-poller.ts) applies too, so the worker sees the same records in both.
//
// - Deployments and pipeline executions: the worker moves them on. Live log follower leases: it
//   pushes the agent. Events: it publishes the ones it wrote to the feed. Registered instances: one
//   whose tags changed may catch up with a group it now matches (lib/deployments/catch-up.ts); a
//   pattern cannot compare the tags before and after, so every write of one comes (they are rare).
// - An instance of a deployment only when its status changes to one that makes an event
//   (lib/domain/state-events.ts, instanceEventState): an agent's report that leaves the status as
//   it was (every lifecycle event but the last) invokes nothing. A pattern cannot compare the old
//   image with the new, so there is one pattern per status, each matching a change into it.
//   Instances are written first as Pending (which makes no event), so an INSERT needs no pattern.
//
// Lambda takes at most five patterns per event source mapping unless a quota is raised: this is five.
const WORKER_ITEM_TYPES = ['Deployment', 'Execution', 'LiveLogFollow', 'Event', 'Instance'];
const INSTANCE_EVENT_STATUSES = ['InProgress', 'Succeeded', 'Failed', 'Unknown'];

const patterns = [
  { dynamodb: { NewImage: { type: { S: WORKER_ITEM_TYPES } } } },
  ...INSTANCE_EVENT_STATUSES.map((status) => ({
    dynamodb: {
      NewImage: { type: { S: ['InstanceDeployment'] }, status: { S: [status] } },
      OldImage: { status: { S: [{ 'anything-but': [status] }] } },
    },
  })),
];

module.exports = { patterns };
