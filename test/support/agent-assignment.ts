/**
 * A poll answer as the server builds it, for a test server at `base` that
 * serves the bundle at /bundle and takes the log at /log: the assignment of
 * `events` (all Pending) in group g-1, with `bundle`'s expected size/hash.
 */
export function pollAnswerFor(base: string, deploymentId: string, events: string[], bundle: Record<string, unknown>) {
  return {
    action: 'continue',
    heartbeatSeconds: 5,
    assignment: {
      deploymentId,
      applicationName: 'web',
      deploymentGroupName: 'prod',
      deploymentGroupId: 'g-1',
      revision: { bucket: 'b-1', key: 'app.zip', bundleType: 'zip' },
      bundle: { url: `${base}/bundle`, bundleType: 'zip', ...bundle },
      logUpload: { url: `${base}/log` },
      events: events.map((name) => ({ name, status: 'Pending' })),
      fileExistsBehavior: 'DISALLOW',
      ignoreApplicationStopFailures: false,
      environment: {},
      leaseSeconds: 60,
    },
  };
}
