// Dedicated endpoints as activities: start one for a trained model (never two), wait until it answers
// (heartbeating, one activity however long it takes). Stopping is part of the run's end-of-run cleanup (serving.ts).
import { Context, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { StartEndpointInput, StartedEndpoint, WaitForEndpointInput } from '../core/contracts';
import { InvalidInput } from '../core/errors';
import type { ActivityDeps } from './context';
import { tagName } from './providers/finetune/backend-common';
import { endpointEndStates, TogetherEndpoints } from './providers/finetune/together-endpoints';
import { toActivityFailure } from './providers/errors';

const endpointsOf = (input: StartEndpointInput | WaitForEndpointInput, env: NodeJS.ProcessEnv) =>
  new TogetherEndpoints(input.backend, input.providers, input.backend.provider, env);

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
      const what = `wait for dedicated endpoint ${input.endpointId}`;
      const endpoints = endpointsOf(input, env);
      for (;;) {
        let state: string;
        try {
          state = (await endpoints.get(input.endpointId)).state;
        } catch (err) {
          const failure = toActivityFailure(err, what);
          if (failure.nonRetryable) throw failure;
          state = `poll failed, will poll again: ${failure.message}`;
        }
        Context.current().heartbeat({ state });
        if (state === 'STARTED') return;
        if (endpointEndStates.includes(state))
          throw ApplicationFailure.nonRetryable(
            `Dedicated endpoint ${input.endpointId} ended ${state} before it started.`,
            'EndpointNotStarted',
          );
        await sleep(input.backend.pollIntervalSeconds * 1000); // throws CancelledFailure when the workflow cancels us
      }
    },
  };
}
