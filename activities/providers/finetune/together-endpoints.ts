// Together's dedicated endpoints over its REST API (https://docs.together.ai/reference/createendpoint): one model on
// reserved hardware, billed by the minute from creation until it is stopped.
import type { ProvidersConfig } from '../../../core/config';
import type { DedicatedEndpointRef } from '../../../core/types';
import { openAiCompatibleProvider, readApiKey } from './backend-common';
import { RestClient } from './rest-client';

export interface TogetherEndpoint {
  id: string;
  /** What chat requests name as their model. */
  name: string;
  display_name: string;
  state: string;
}

export interface EndpointOptions {
  hardware: string;
  minReplicas: number;
  maxReplicas: number;
}

/** States an endpoint never leaves by itself: waiting for it to start is pointless. */
export const endpointEndStates = ['STOPPING', 'STOPPED', 'ERROR', 'FAILED'];

export class TogetherEndpoints {
  private readonly rest: RestClient;

  constructor(
    api: Omit<DedicatedEndpointRef, 'id'>,
    providers: ProvidersConfig,
    chatProvider: string,
    env: NodeJS.ProcessEnv,
  ) {
    const { requestTimeoutSeconds } = openAiCompatibleProvider(providers, chatProvider);
    this.rest = new RestClient('Together', api.baseURL, readApiKey(api.apiKeyEnv, env), requestTimeoutSeconds * 1000);
  }

  /** The live endpoint named `displayName` if one exists (an earlier attempt made it), else a new one. */
  async findOrCreate(model: string, displayName: string, options: EndpointOptions): Promise<TogetherEndpoint> {
    const { data } = await this.rest.request<{ data: TogetherEndpoint[] }>('GET', '/endpoints');
    const found = data.find((e) => e.display_name === displayName && !endpointEndStates.includes(e.state));
    if (found) return found;
    return this.rest.request<TogetherEndpoint>('POST', '/endpoints', {
      model,
      hardware: options.hardware,
      display_name: displayName,
      autoscaling: { min_replicas: options.minReplicas, max_replicas: options.maxReplicas },
    });
  }

  get(id: string): Promise<TogetherEndpoint> {
    return this.rest.request<TogetherEndpoint>('GET', `/endpoints/${encodeURIComponent(id)}`);
  }

  /** Stops the endpoint (its billing ends); one already stopping or stopped is left as it is. */
  async stop(id: string): Promise<void> {
    if (['STOPPING', 'STOPPED'].includes((await this.get(id)).state)) return;
    await this.rest.request('PATCH', `/endpoints/${encodeURIComponent(id)}`, { state: 'STOPPED' });
  }
}
