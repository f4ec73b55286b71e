// An osls plugin: the WebSocket stage's deployment snapshots every route of the API.
const { createHash } = require('node:crypto');

const API_ID = 'WebsocketsApi';
const STAGE_ID = 'WebsocketsDeploymentStage';
const DEPLOYMENT_TYPE = 'AWS::ApiGatewayV2::Deployment';
const ROUTE_TYPE = 'AWS::ApiGatewayV2::Route';

const ofApi = (resource) => resource?.Properties?.ApiId?.Ref === API_ID;

/**
 * osls names the WebSocket deployment after a hash of the API taken before the
 * resources of serverless.yml are merged, and makes it depend only on the
 * routes it generated itself. A route declared under `resources` (the
 * keep-alive) may then be created after the deployment's snapshot, and since
 * the hash never changes, no later deploy adds it to the stage.
 *
 * Returns new resources in which the deployment depends on every route of the
 * API and is named after a hash of all of the API's parts (routes,
 * integrations, responses, authorizers, the API itself), with the stage
 * pointing at it: any change to a route gives a new deployment. Resources
 * without exactly one deployment of the WebSocket API are returned unchanged.
 */
function deploymentCoveringEveryRoute(resources) {
  const deployments = Object.keys(resources).filter((id) => resources[id].Type === DEPLOYMENT_TYPE && ofApi(resources[id]));
  if (deployments.length !== 1) return resources;
  const [oldId] = deployments;
  const parts = Object.keys(resources)
    .filter((id) => id === API_ID || (ofApi(resources[id]) && id !== STAGE_ID && resources[id].Type !== DEPLOYMENT_TYPE))
    .sort();
  const hash = createHash('sha256')
    .update(JSON.stringify(parts.map((id) => [id, resources[id]])))
    .digest('hex')
    .slice(0, 32);
  const newId = `WebsocketsDeployment${hash}`;
  const routes = parts.filter((id) => resources[id].Type === ROUTE_TYPE);
  const deployment = resources[oldId];
  const dependsOn = [...new Set([...[deployment.DependsOn ?? []].flat(), ...routes])].sort();

  const result = {};
  for (const [id, resource] of Object.entries(resources)) {
    if (id === oldId) result[newId] = { ...deployment, DependsOn: dependsOn };
    else if (id === STAGE_ID) result[id] = { ...resource, Properties: { ...resource.Properties, DeploymentId: { Ref: newId } } };
    else result[id] = resource;
  }
  return result;
}

class WebsocketDeploymentPlugin {
  constructor(serverless) {
    this.hooks = {
      // After the resources of serverless.yml (and their extensions) are merged in.
      'before:aws:package:finalize:saveServiceState': () => {
        const template = serverless.service.provider.compiledCloudFormationTemplate;
        template.Resources = deploymentCoveringEveryRoute(template.Resources);
      },
    };
  }
}

module.exports = WebsocketDeploymentPlugin;
module.exports.deploymentCoveringEveryRoute = deploymentCoveringEveryRoute;
