// Hardware billed by the minute as activities: start it for a trained model (never twice), wait until the model
// answers there (heartbeating, one activity however long it takes). Together: a dedicated endpoint; Fireworks: a
// deployment of the base model with the LoRA loaded onto it. Releasing it is part of the run's end-of-run cleanup
// (serving.ts).
import { Context, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type {
  StartDeploymentInput,
  StartedDeployment,
  StartEndpointInput,
  StartedEndpoint,
  WaitForDeploymentInput,
  WaitForEndpointInput,
} from '../core/contracts';
import { InvalidInput } from '../core/errors';
import type { ActivityDeps } from './context';
import { tagName } from './providers/finetune/backend-common';
import { deploymentEndStates, FireworksDeployments } from './providers/finetune/fireworks-deployments';
import { endpointEndStates, TogetherEndpoints } from './providers/finetune/together-endpoints';
import { toActivityFailure } from './providers/errors';

const endpointsOf = (input: StartEndpointInput | WaitForEndpointInput, env: NodeJS.ProcessEnv) =>
  new TogetherEndpoints(input.backend, input.providers, input.backend.provider, env);

const deploymentsOf = (input: StartDeploymentInput | WaitForDeploymentInput, env: NodeJS.ProcessEnv) =>
  new FireworksDeployments(input.backend, input.backend.account, input.providers, input.backend.provider, env);

/**
 * Polls `state` until it answers `ready`, heartbeating each state so the UI shows it and a cancel reaches us; a state
 * in `endStates` fails for good, a poll that fails transiently is tried again at the next interval.
 */
async function waitUntil(
  what: string,
  intervalSeconds: number,
  endStates: string[],
  state: () => Promise<string | 'ready'>,
): Promise<void> {
  for (;;) {
    let current: string;
    try {
      current = await state();
    } catch (err) {
      const failure = toActivityFailure(err, what);
      if (failure.nonRetryable) throw failure;
      current = `poll failed, will poll again: ${failure.message}`;
    }
    Context.current().heartbeat({ state: current });
    if (current === 'ready') return;
    if (endStates.includes(current))
      throw ApplicationFailure.nonRetryable(`${what}: it ended ${current} before it was ready.`, 'EndpointNotStarted');
    await sleep(intervalSeconds * 1000); // throws CancelledFailure when the workflow cancels us
  }
}

export function endpointActivities({ env }: ActivityDeps) {
  return {
    async startDedicatedEndpoint(input: StartEndpointInput): Promise<StartedEndpoint> {
      const { endpoint } = input.backend;
      if (!endpoint) throw ApplicationFailure.nonRetryable('serve: endpoint needs endpoint: {hardware}', InvalidInput);
      try {
        const { id, name } = await endpointsOf(input, env).findOrCreate(input.model, tagName(input.tag), endpoint);
        return { id, name, startedAt: Date.now() };
      } catch (err) {
        throw toActivityFailure(err, `start a dedicated endpoint for ${input.model}`);
      }
    },

    async waitForDedicatedEndpoint(input: WaitForEndpointInput): Promise<void> {
      const endpoints = endpointsOf(input, env);
      await waitUntil(
        `wait for dedicated endpoint ${input.endpointId}`,
        input.backend.pollIntervalSeconds,
        endpointEndStates,
        async () => {
          const { state } = await endpoints.get(input.endpointId);
          return state === 'STARTED' ? 'ready' : state;
        },
      );
    },

    /**
     * The configured deployment, or the run's own for the model's base: one id per run and base model, so the run's
     * LoRAs share it and a create repeated after a lost answer finds the first (409) instead of starting a second.
     */
    async startFireworksDeployment(input: StartDeploymentInput): Promise<StartedDeployment> {
      const { id, ...options } = input.backend.deployment ?? { minReplicas: 1, maxReplicas: 1 };
      try {
        const deployments = deploymentsOf(input, env);
        if (id !== undefined) return { name: (await deployments.get(id)).name, owned: false };
        const ownId = tagName({ runId: input.runId, stage: `deploy-${input.baseModel.split('/').pop()}` });
        return { name: (await deployments.findOrCreate(ownId, input.baseModel, options)).name, owned: true };
      } catch (err) {
        throw toActivityFailure(err, `start a Fireworks deployment for ${input.model}`);
      }
    },

    /** Until the deployment is READY, then loads the LoRA onto it (once) and waits until it is DEPLOYED there. */
    async waitForFireworksDeployment(input: WaitForDeploymentInput): Promise<void> {
      const deployments = deploymentsOf(input, env);
      await waitUntil(
        `wait for ${input.model} on deployment ${input.deployment}`,
        input.backend.pollIntervalSeconds,
        deploymentEndStates,
        async () => {
          const { state } = await deployments.get(input.deployment);
          if (state !== 'READY') return state;
          const loaded = await deployments.ensureLoaded(input.model, input.deployment);
          return loaded.state === 'DEPLOYED' ? 'ready' : `model ${loaded.state}`;
        },
      );
    },
  };
}
