// Fireworks deployments for LoRA models (https://docs.fireworks.ai/fine-tuning/deploying-loras): a deployment of the
// base model with addons enabled, created under an id we choose (so a repeated create is refused with 409, never a
// second deployment), and the LoRA loaded onto it as a deployed model. Both bill by the minute while they exist.
import type { ProvidersConfig } from '../../../core/config';
import type { FireworksBackendConfig } from '../../../core/contracts';
import { ProviderHttpError } from '../errors';
import { openAiCompatibleProvider, readApiKey } from './backend-common';
import { RestClient } from './rest-client';

export interface FireworksDeployment {
  /** `accounts/{account}/deployments/{id}`. */
  name: string;
  baseModel: string;
  state: string;
  enableAddons?: boolean;
}

export interface FireworksDeployedModel {
  /** `accounts/{account}/deployedModels/{id}`. */
  name: string;
  model: string;
  deployment: string;
  state: string;
}

export type DeploymentOptions = Omit<NonNullable<FireworksBackendConfig['deployment']>, 'id'>;

/** Deployment states it never leaves by itself for READY: waiting on it is pointless. */
export const deploymentEndStates = ['DELETING', 'DELETED', 'FAILED'];

const status = (err: unknown) => (err instanceof ProviderHttpError ? err.status : undefined);

/** The model a chat names to reach a LoRA on one deployment: Fireworks' `model#deployment` form. */
export const modelOnDeployment = (model: string, deployment: string) => `${model}#${deployment}`;

export class FireworksDeployments {
  private readonly rest: RestClient;
  private readonly base: string;

  constructor(
    api: { baseURL: string; apiKeyEnv: string },
    account: string,
    providers: ProvidersConfig,
    chatProvider: string,
    env: NodeJS.ProcessEnv,
  ) {
    const { requestTimeoutSeconds } = openAiCompatibleProvider(providers, chatProvider);
    this.rest = new RestClient('Fireworks', api.baseURL, readApiKey(api.apiKeyEnv, env), requestTimeoutSeconds * 1000);
    this.base = `/accounts/${encodeURIComponent(account)}`;
  }

  /** The deployment `id`, created for `baseModel` with addons enabled unless it exists (an earlier attempt made it). */
  async findOrCreate(id: string, baseModel: string, options: DeploymentOptions): Promise<FireworksDeployment> {
    try {
      return await this.rest.request<FireworksDeployment>(
        'POST',
        `${this.base}/deployments?deploymentId=${encodeURIComponent(id)}`,
        {
          baseModel,
          displayName: id,
          enableAddons: true,
          minReplicaCount: options.minReplicas,
          maxReplicaCount: options.maxReplicas,
          ...(options.acceleratorType ? { acceleratorType: options.acceleratorType } : {}),
          ...(options.acceleratorCount ? { acceleratorCount: options.acceleratorCount } : {}),
        },
      );
    } catch (err) {
      if (status(err) !== 409) throw err;
      return this.get(id);
    }
  }

  get(idOrName: string): Promise<FireworksDeployment> {
    return this.rest.request<FireworksDeployment>('GET', this.deploymentPath(idOrName));
  }

  /** The LoRA's deployed model on `deployment`, loading it there first unless an earlier attempt did. */
  async ensureLoaded(model: string, deployment: string): Promise<FireworksDeployedModel> {
    const found = await this.deployedModel(model, deployment);
    if (found) return found;
    return this.rest.request<FireworksDeployedModel>('POST', `${this.base}/deployedModels`, {
      model,
      deployment,
      displayName: model.split('/').pop(),
    });
  }

  /** Unloads the LoRA from the deployment and, when the run created it, deletes the deployment; gone counts as done. */
  async release(model: string, deployment: string, ownsDeployment: boolean): Promise<void> {
    const loaded = await this.deployedModel(model, deployment);
    if (loaded) await this.ignoringGone(() => this.rest.request('DELETE', `/${loaded.name}`));
    if (!ownsDeployment) return;
    await this.ignoringGone(async () => {
      if (deploymentEndStates.includes((await this.get(deployment)).state)) return;
      await this.rest.request('DELETE', this.deploymentPath(deployment));
    });
  }

  private async deployedModel(model: string, deployment: string): Promise<FireworksDeployedModel | undefined> {
    const { deployedModels = [] } = await this.rest.request<{ deployedModels?: FireworksDeployedModel[] }>(
      'GET',
      `${this.base}/deployedModels`,
    );
    return deployedModels.find((d) => d.model === model && d.deployment === deployment && d.state !== 'UNDEPLOYING');
  }

  private deploymentPath(idOrName: string): string {
    return idOrName.startsWith('accounts/')
      ? `/${idOrName}`
      : `${this.base}/deployments/${encodeURIComponent(idOrName)}`;
  }

  private async ignoringGone(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
  }
}
