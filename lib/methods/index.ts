// The methods the CLI can run, by the `method` field of a config. A new method registers here.
import type { RunConfig } from '../../core/run-config';
import { evaluateMethod } from './evaluate';
import { selfGuideMethod } from './selfguide';
import { selfGuideCampaignMethod } from './selfguide-campaign';
import { semievolMethod } from './semievol';
import type { Method } from './types';

const methods: { [M in RunConfig['method']]: Method<Extract<RunConfig, { method: M }>> } = {
  evaluate: evaluateMethod,
  selfguide: selfGuideMethod,
  'selfguide-campaign': selfGuideCampaignMethod,
  semievol: semievolMethod,
};

export function methodOf(config: RunConfig): Method<RunConfig> {
  return methods[config.method] as Method<RunConfig>;
}

/** The method whose runs are workflows of this type. */
export function methodOfWorkflow(workflowType: string): { name: string; method: Method<RunConfig> } | undefined {
  const found = Object.entries(methods).find(([, m]) => m.workflowType === workflowType);
  return found && { name: found[0], method: found[1] as Method<RunConfig> };
}

/** Summary lines for a finished run, by its workflow type. */
export function summarizeResult(workflowType: string, result: unknown): string[] {
  const method = Object.values(methods).find((m) => m.workflowType === workflowType);
  return method ? method.summarize(result) : [JSON.stringify(result)];
}
