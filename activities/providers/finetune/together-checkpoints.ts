// Together's checkpoint download (https://docs.together.ai/reference/get-finetune-download): `GET /finetune/download`
// answers, through a redirect to storage, a completed job's checkpoint as a compressed archive.
import type { ProvidersConfig } from '../../../core/config';
import type { TogetherBackendConfig } from '../../../core/contracts';
import { openAiCompatibleProvider, readApiKey } from './backend-common';
import { RestClient } from './rest-client';

export type CheckpointChoice = NonNullable<TogetherBackendConfig['download']>;

/** Names one checkpoint of a job: `adapter`, `merged`, or `step-N` (a step picks its checkpoint whatever the kind). */
export const checkpointKey = (choice: CheckpointChoice): string =>
  choice.checkpointStep !== undefined ? `step-${choice.checkpointStep}` : choice.checkpoint;

export class TogetherCheckpoints {
  private readonly rest: RestClient;
  /** How long a download may go without a byte before it is given up (the chat provider's request timeout). */
  readonly idleTimeoutMs: number;

  constructor(backend: TogetherBackendConfig, providers: ProvidersConfig, env: NodeJS.ProcessEnv) {
    this.idleTimeoutMs = openAiCompatibleProvider(providers, backend.provider).requestTimeoutSeconds * 1000;
    this.rest = new RestClient('Together', backend.baseURL, readApiKey(backend.apiKeyEnv, env), this.idleTimeoutMs);
  }

  /** The archive's bytes from `fromByte` on (a range request when resuming; the server may answer it whole). */
  open(jobId: string, choice: CheckpointChoice, fromByte: number, signal: AbortSignal): Promise<Response> {
    const query = new URLSearchParams({ ft_id: jobId });
    if (choice.checkpointStep !== undefined) query.set('checkpoint_step', String(choice.checkpointStep));
    else query.set('checkpoint', choice.checkpoint);
    const range: Record<string, string> = fromByte > 0 ? { Range: `bytes=${fromByte}-` } : {};
    return this.rest.open(`/finetune/download?${query}`, range, signal);
  }
}
