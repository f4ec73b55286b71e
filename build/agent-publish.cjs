// An osls plugin: after each `osls deploy`, the single-file agent is built and published into the
// stack's artifact bucket under its version (agent/publish.ts), where `fleetline agent user-data`,
// `install-command` and the stack's SSM document fetch it.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

class AgentPublishPlugin {
  constructor(serverless, options) {
    this.hooks = {
      'after:deploy:deploy': () => {
        const provider = serverless.getProvider('aws');
        // The artifactBucket parameter, resolved (the functions read it as ARTIFACT_BUCKET).
        const bucket = serverless.service.provider.environment.ARTIFACT_BUCKET;
        const profile = options['aws-profile'] ?? options.profile ?? process.env.AWS_PROFILE;
        const args = [require.resolve('tsx/cli'), join(__dirname, '../agent/publish.ts'), '--bucket', bucket, '--region', provider.getRegion()];
        if (profile) args.push('--profile', profile);
        try {
          execFileSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
        } catch {
          throw new serverless.classes.Error(
            `The stack is deployed, but the Fleetline agent could not be published to s3://${bucket}/fleetline-agent/ (the reason is above). Run osls deploy again once it is fixed.`,
            'FLEETLINE_AGENT_PUBLISH',
          );
        }
      },
    };
  }
}

module.exports = AgentPublishPlugin;
