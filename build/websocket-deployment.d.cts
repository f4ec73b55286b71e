type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: string | string[] }>;

declare class WebsocketDeploymentPlugin {
  constructor(serverless: unknown);
  hooks: Record<string, () => void>;
}
declare namespace WebsocketDeploymentPlugin {
  function deploymentCoveringEveryRoute(resources: Resources): Resources;
}
export = WebsocketDeploymentPlugin;
