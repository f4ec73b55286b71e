declare class AgentPublishPlugin {
  constructor(serverless: unknown, options: Record<string, unknown>);
  hooks: { 'after:deploy:deploy': () => void };
}
export = AgentPublishPlugin;
