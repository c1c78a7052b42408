// Fireworks deployments and the LoRAs loaded onto them (deployed models), moving through their states on the
// fine-tune clock (fineTune.stepMs): a deployment CREATING → READY (held CREATING by
// `fireworksDeployments.holdCreating`), DELETING → gone; a deployed model DEPLOYING → DEPLOYED, UNDEPLOYING → gone.
// A deployed LoRA answers chat as `model#deployment` while both are up.
import type { DoubleConfig } from './config';
import type { IdMinter } from './hashing';
import type { ModelRegistry, ResolvedModel } from './model-registry';

export interface Deployment {
  /** `accounts/{account}/deployments/{id}`. */
  name: string;
  account: string;
  baseModel: string;
  enableAddons: boolean;
  minReplicaCount: number;
  maxReplicaCount: number;
  state: 'CREATING' | 'READY' | 'DELETING';
  createdAt: number;
  timer?: NodeJS.Timeout;
}

export interface DeployedModel {
  /** `accounts/{account}/deployedModels/{id}`. */
  name: string;
  model: string;
  deployment: string;
  state: 'DEPLOYING' | 'DEPLOYED' | 'UNDEPLOYING';
  timer?: NodeJS.Timeout;
}

export class FireworksDeployments {
  private readonly deployments = new Map<string, Deployment>();
  private readonly deployedModels = new Map<string, DeployedModel>();
  /** Every deployment ever created, by name, with its last state: what tests count creates and deletes by. */
  private readonly history = new Map<string, Deployment['state'] | 'DELETED'>();

  constructor(private readonly deps: { config: () => DoubleConfig; ids: IdMinter; models: ModelRegistry }) {}

  createDeployment(spec: Omit<Deployment, 'state' | 'createdAt'>): Deployment {
    const deployment: Deployment = { ...spec, state: 'CREATING', createdAt: Date.now() };
    this.deployments.set(deployment.name, deployment);
    this.history.set(deployment.name, deployment.state);
    const advance = () => {
      if (deployment.state !== 'CREATING') return;
      if (this.deps.config().fireworksDeployments.holdCreating) return this.after(deployment, advance);
      this.setDeploymentState(deployment, 'READY');
    };
    this.after(deployment, advance);
    return deployment;
  }

  deployment(name: string): Deployment | undefined {
    return this.deployments.get(name);
  }

  listDeployments(account: string): Deployment[] {
    return [...this.deployments.values()].filter((d) => d.account === account);
  }

  /** Deleting a deployment takes its LoRAs down with it. */
  deleteDeployment(deployment: Deployment): void {
    if (deployment.state === 'DELETING') return;
    clearTimeout(deployment.timer);
    this.setDeploymentState(deployment, 'DELETING');
    for (const loaded of this.deployedModels.values())
      if (loaded.deployment === deployment.name) this.deployedModels.delete(loaded.name);
    this.after(deployment, () => {
      this.deployments.delete(deployment.name);
      this.history.set(deployment.name, 'DELETED');
    });
  }

  load(model: string, deployment: Deployment): DeployedModel {
    const id = this.deps.ids.next(`fireworks-deployed-model:${model}:${deployment.name}`).toLowerCase().slice(0, 12);
    const loaded: DeployedModel = {
      name: `accounts/${deployment.account}/deployedModels/${id}`,
      model,
      deployment: deployment.name,
      state: 'DEPLOYING',
    };
    this.deployedModels.set(loaded.name, loaded);
    this.after(loaded, () => {
      if (loaded.state === 'DEPLOYING') loaded.state = 'DEPLOYED';
    });
    return loaded;
  }

  deployedModel(name: string): DeployedModel | undefined {
    return this.deployedModels.get(name);
  }

  listDeployedModels(account: string): DeployedModel[] {
    return [...this.deployedModels.values()].filter((d) => d.name.startsWith(`accounts/${account}/`));
  }

  unload(loaded: DeployedModel): void {
    clearTimeout(loaded.timer);
    loaded.state = 'UNDEPLOYING';
    this.after(loaded, () => this.deployedModels.delete(loaded.name));
  }

  /** The model a chat naming `model#deployment` runs, while that LoRA is deployed there; else undefined. */
  resolveDeployed(name: string): ResolvedModel | undefined {
    const hash = name.indexOf('#');
    if (hash < 0) return undefined;
    const [model, deployment] = [name.slice(0, hash), name.slice(hash + 1)];
    const loaded = [...this.deployedModels.values()].find(
      (d) => d.model === model && d.deployment === deployment && d.state === 'DEPLOYED',
    );
    const resolved = loaded && this.deps.models.resolve(model);
    return resolved && { ...resolved, name };
  }

  /** Every deployment created so far and its state now (`DELETED` once gone), and the LoRAs loaded now. */
  view(): { deployments: { name: string; state: string }[]; deployedModels: DeployedModel[] } {
    return {
      deployments: [...this.history].map(([name, state]) => ({ name, state })),
      deployedModels: [...this.deployedModels.values()].map(({ timer: _timer, ...loaded }) => loaded),
    };
  }

  stopAll(): void {
    for (const item of [...this.deployments.values(), ...this.deployedModels.values()]) clearTimeout(item.timer);
  }

  private setDeploymentState(deployment: Deployment, state: Deployment['state']): void {
    deployment.state = state;
    this.history.set(deployment.name, state);
  }

  private after(item: { timer?: NodeJS.Timeout }, next: () => void): void {
    item.timer = setTimeout(next, this.deps.config().fineTune.stepMs);
  }
}
