import { describe, expect, it } from 'vitest';
import plugin from '../../build/websocket-deployment.cjs';

const { deploymentCoveringEveryRoute } = plugin;
const api = { Ref: 'WebsocketsApi' };

/** Resources as osls leaves them: its deployment knows only the routes it generated. */
function osls(keepaliveRouteKey = 'keepalive') {
  return {
    WebsocketsApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { ProtocolType: 'WEBSOCKET' } },
    SconnectWebsocketsRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: api, RouteKey: '$connect', AuthorizationType: 'AWS_IAM' } },
    SdisconnectWebsocketsRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: api, RouteKey: '$disconnect' } },
    KeepaliveWebsocketsIntegration: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { ApiId: api, IntegrationType: 'MOCK' } },
    KeepaliveWebsocketsRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: api, RouteKey: keepaliveRouteKey } },
    WebsocketsDeploymentAbc: {
      Type: 'AWS::ApiGatewayV2::Deployment',
      DependsOn: ['SconnectWebsocketsRoute', 'SdisconnectWebsocketsRoute'],
      Properties: { ApiId: api },
    },
    WebsocketsDeploymentStage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: api, StageName: 'test', DeploymentId: { Ref: 'WebsocketsDeploymentAbc' } } },
    HttpApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { ProtocolType: 'HTTP' } },
    HttpApiRouteGetHealth: { Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: { Ref: 'HttpApi' }, RouteKey: 'GET /health' } },
  };
}

const deploymentOf = (resources: ReturnType<typeof deploymentCoveringEveryRoute>) => {
  const ids = Object.keys(resources).filter((id) => resources[id]!.Type === 'AWS::ApiGatewayV2::Deployment');
  expect(ids).toHaveLength(1);
  return { id: ids[0]!, resource: resources[ids[0]!]! };
};

describe('the WebSocket deployment (build/websocket-deployment.cjs)', () => {
  it('depends on every route of the WebSocket API, also those declared under resources, and on no other API', () => {
    const { resource } = deploymentOf(deploymentCoveringEveryRoute(osls()));
    expect(resource.DependsOn).toEqual(['KeepaliveWebsocketsRoute', 'SconnectWebsocketsRoute', 'SdisconnectWebsocketsRoute']);
  });

  it('is renamed after all of the API\'s routes, so changing one gives a new deployment, which the stage deploys', () => {
    const before = deploymentCoveringEveryRoute(osls());
    const after = deploymentCoveringEveryRoute(osls('ping'));
    const [first, second] = [deploymentOf(before), deploymentOf(after)];
    expect(first.id).toMatch(/^WebsocketsDeployment[0-9a-f]+$/);
    expect(first.id).not.toBe('WebsocketsDeploymentAbc');
    expect(second.id).not.toBe(first.id);
    expect(deploymentCoveringEveryRoute(osls())).toEqual(before);
    expect(before.WebsocketsDeploymentStage!.Properties.DeploymentId).toEqual({ Ref: first.id });
    expect(after.WebsocketsDeploymentStage!.Properties.DeploymentId).toEqual({ Ref: second.id });
  });

  it('leaves the input untouched and everything else as it was', () => {
    const input = osls();
    const copy = structuredClone(input);
    const output = deploymentCoveringEveryRoute(input);
    expect(input).toEqual(copy);
    expect(output.KeepaliveWebsocketsRoute).toBe(input.KeepaliveWebsocketsRoute);
    expect(output.HttpApiRouteGetHealth).toBe(input.HttpApiRouteGetHealth);
  });
});
