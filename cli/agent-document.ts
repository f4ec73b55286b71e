import { AGENT_VERSION, AGENT_VERSION_PATTERN } from '../lib/domain/agent-presence.js';
import { SHA256_HEX_PATTERN } from '../lib/domain/agent-package.js';
import { installScript } from './agent-install.js';

/** Where the API URL goes in the document's script: the template fills it in (build/agent-document.cjs). */
export const API_URL_SLOT = 'https://fleetline-api-url.invalid';

/**
 * The stack's SSM Command document that installs or updates the agent on EC2
 * instances (`aws ssm send-command --targets Key=tag:…`): the same script as
 * `fleetline agent user-data`, from the stack's own bucket, to the stack's own
 * API. Its only parameters are the agent version and an optional SHA-256 to
 * pin, each held to its pattern: a sender cannot point it at another bucket,
 * API or command.
 */
export function agentInstallDocument(bucket: string) {
  const script = installScript({ api: API_URL_SLOT, bucket, version: '{{ AgentVersion }}', pinnedSha256: '{{ Sha256 }}', tags: [] });
  return {
    schemaVersion: '2.2',
    description: "Installs or updates the Fleetline agent from the stack's artifact bucket (checked against its SHA-256) and restarts it.",
    parameters: {
      AgentVersion: { type: 'String', default: AGENT_VERSION, allowedPattern: AGENT_VERSION_PATTERN.source, description: 'The published agent version (fleetline-agent/ in the artifact bucket)' },
      Sha256: { type: 'String', default: '', allowedPattern: `^(${SHA256_HEX_PATTERN.source.slice(1, -1)})?$`, description: 'The SHA-256 the agent must have (osls deploy prints it); empty: the one published beside it' },
    },
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'installFleetlineAgent',
        precondition: { StringEquals: ['platformType', 'Linux'] },
        inputs: { timeoutSeconds: '900', runCommand: script.split('\n') },
      },
    ],
  };
}
