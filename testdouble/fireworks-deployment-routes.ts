// Fireworks deployments and deployed models (LoRAs loaded onto a deployment) under /fireworks/v1, in the shapes of its
// gateway API, and Fireworks' inference route (/fireworks/inference/v1/chat/completions), where `model#deployment`
// reaches a LoRA on one deployment.
import type { DoubleState } from './double-state';
import type { DeployedModel, Deployment } from './fireworks-deployments';
import { FireworksError, grpc, invalid, notFound, resourceId } from './fireworks-routes';
import { numberField, ok, requiredString, type DoubleRequest, type Router } from './http';
import { chatCompletion } from './inference-routes';

function deploymentView(deployment: Deployment) {
  return {
    name: deployment.name,
    displayName: deployment.name.split('/').pop(),
    baseModel: deployment.baseModel,
    state: deployment.state,
    status: { code: 'OK', message: '' },
    enableAddons: deployment.enableAddons,
    minReplicaCount: deployment.minReplicaCount,
    maxReplicaCount: deployment.maxReplicaCount,
    createTime: new Date(deployment.createdAt).toISOString(),
  };
}

const deployedModelView = ({ name, model, deployment, state }: DeployedModel) => ({
  name,
  model,
  deployment,
  state,
  displayName: model.split('/').pop(),
  default: false,
  public: false,
});

const gone = { status: 200, body: {} };

export function fireworksDeploymentRoutes(router: Router, state: DoubleState): void {
  const deployments = state.fireworksDeployments;
  const base = '/fireworks/v1/accounts/:account';
  const findDeployment = (
    request: DoubleRequest,
    name = `accounts/${request.params.account}/deployments/${request.params.id}`,
  ) => {
    const deployment = deployments.deployment(name);
    if (!deployment) throw notFound(`Deployment ${name}`);
    return deployment;
  };
  const findDeployedModel = (request: DoubleRequest) => {
    const name = `accounts/${request.params.account}/deployedModels/${request.params.id}`;
    const loaded = deployments.deployedModel(name);
    if (!loaded) throw notFound(`Deployed model ${name}`);
    return loaded;
  };

  router
    .on('POST', `${base}/deployments`, (request) => {
      const body = request.json();
      const { account } = request.params;
      const id = request.query.get('deploymentId') ?? state.ids.next(JSON.stringify(body)).toLowerCase().slice(0, 12);
      if (!resourceId.test(id)) throw invalid(`deploymentId "${id}" must be lowercase letters, digits and "-".`);
      const name = `accounts/${account}/deployments/${id}`;
      if (deployments.deployment(name))
        throw new FireworksError(409, `Deployment ${name} already exists`, grpc.alreadyExists);
      const baseModel = requiredString(body, 'baseModel');
      if (!state.models.resolve(baseModel)) throw notFound(`Model ${baseModel}`);
      const minReplicaCount = numberField(body, 'minReplicaCount', { min: 0, max: 16, integer: true }) ?? 0;
      const maxReplicaCount = numberField(body, 'maxReplicaCount', { min: 1, max: 16, integer: true }) ?? 1;
      const enableAddons = body.enableAddons === true;
      return ok(
        deploymentView(
          deployments.createDeployment({ name, account, baseModel, enableAddons, minReplicaCount, maxReplicaCount }),
        ),
      );
    })
    .on('GET', `${base}/deployments`, (request) =>
      ok({ deployments: deployments.listDeployments(request.params.account).map(deploymentView) }),
    )
    .on('GET', `${base}/deployments/:id`, (request) => ok(deploymentView(findDeployment(request))))
    .on('DELETE', `${base}/deployments/:id`, (request) => {
      deployments.deleteDeployment(findDeployment(request));
      return gone;
    })
    .on('POST', `${base}/deployedModels`, (request) => {
      const body = request.json();
      const model = requiredString(body, 'model');
      const deployment = findDeployment(request, requiredString(body, 'deployment'));
      const lora = state.models.resolve(model);
      if (!lora) throw notFound(`Model ${model}`);
      if (!deployment.enableAddons)
        throw new FireworksError(
          400,
          `Deployment ${deployment.name} does not have addons enabled`,
          grpc.failedPrecondition,
        );
      if (deployment.state !== 'READY')
        throw new FireworksError(400, `Deployment ${deployment.name} is ${deployment.state}`, grpc.failedPrecondition);
      if (lora.root !== state.models.resolve(deployment.baseModel)?.root)
        throw invalid(`Model ${model} is not an addon of ${deployment.baseModel}`);
      return ok(deployedModelView(deployments.load(model, deployment)));
    })
    .on('GET', `${base}/deployedModels`, (request) =>
      ok({ deployedModels: deployments.listDeployedModels(request.params.account).map(deployedModelView) }),
    )
    .on('GET', `${base}/deployedModels/:id`, (request) => ok(deployedModelView(findDeployedModel(request))))
    .on('DELETE', `${base}/deployedModels/:id`, (request) => {
      deployments.unload(findDeployedModel(request));
      return gone;
    })
    .on(
      'POST',
      '/fireworks/inference/v1/chat/completions',
      chatCompletion(state, (name) => deployments.resolveDeployed(name) ?? state.models.resolve(name)),
    );
}
