// Together's dedicated endpoints: one model on reserved hardware, moving through PENDING → STARTING → STARTED on the
// fine-tune clock (fineTune.stepMs), and STOPPING → STOPPED when stopped. A started endpoint answers chat under its
// own name.
import type { DoubleConfig } from './config';
import { uuidShaped } from './file-store';
import type { IdMinter } from './hashing';
import type { ModelRegistry, ResolvedModel } from './model-registry';

export type EndpointState = 'PENDING' | 'STARTING' | 'STARTED' | 'STOPPING' | 'STOPPED';

export interface Endpoint {
  id: string;
  name: string;
  displayName: string;
  model: string;
  hardware: string;
  minReplicas: number;
  maxReplicas: number;
  state: EndpointState;
  createdAt: number;
  timer?: NodeJS.Timeout;
}

const next: Partial<Record<EndpointState, EndpointState>> = {
  PENDING: 'STARTING',
  STARTING: 'STARTED',
  STOPPING: 'STOPPED',
};

export class TogetherEndpoints {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(private readonly deps: { config: () => DoubleConfig; ids: IdMinter; models: ModelRegistry }) {}

  create(spec: Omit<Endpoint, 'id' | 'name' | 'state' | 'createdAt'>, seed: string): Endpoint {
    const id = `endpoint-${uuidShaped(this.deps.ids.next(`together-endpoint:${seed}`))}`;
    const endpoint: Endpoint = {
      ...spec,
      id,
      name: `provider-double/${spec.model.split('/').pop()}-${id.slice(9, 17)}`,
      state: 'PENDING',
      createdAt: Date.now(),
    };
    this.endpoints.set(id, endpoint);
    this.advance(endpoint);
    return endpoint;
  }

  get(id: string): Endpoint | undefined {
    return this.endpoints.get(id);
  }

  list(): Endpoint[] {
    return [...this.endpoints.values()];
  }

  stop(endpoint: Endpoint): void {
    if (endpoint.state === 'STOPPING' || endpoint.state === 'STOPPED') return;
    clearTimeout(endpoint.timer);
    endpoint.state = 'STOPPING';
    this.advance(endpoint);
  }

  delete(endpoint: Endpoint): void {
    clearTimeout(endpoint.timer);
    this.endpoints.delete(endpoint.id);
  }

  /** The model a chat naming a started endpoint runs, or undefined when no started endpoint has that name. */
  resolveStarted(name: string): ResolvedModel | undefined {
    const endpoint = this.list().find((e) => e.name === name && e.state === 'STARTED');
    return endpoint ? this.deps.models.resolve(endpoint.model) : undefined;
  }

  stopAll(): void {
    for (const endpoint of this.endpoints.values()) clearTimeout(endpoint.timer);
  }

  private advance(endpoint: Endpoint): void {
    endpoint.timer = setTimeout(() => {
      const held = endpoint.state === 'STARTING' && this.deps.config().togetherEndpoints.holdStarting;
      if (!held) endpoint.state = next[endpoint.state] ?? endpoint.state;
      if (next[endpoint.state]) this.advance(endpoint);
    }, this.deps.config().fineTune.stepMs);
  }
}
