// Benchmark 6, cost: tokens per unlabeled question of a whole SemiEvol run with the authors' settings (4 samples of up
// to 1,024 tokens, self-justification of every inconsistent question), and what the response cache saves: a re-run of
// the finished run makes no call at all, and the collaborate stage re-run under a new run id pays for nothing.
import { defaultPayloadConverter } from '@temporalio/common';
import type { ProviderDouble } from '../testdouble/launch';
import type { StageUsage } from '../core/types';
import type { CollaborateStageInput } from '../workflows/semievol-stages';
import { childId } from '../workflows/shared';
import { execute, fmt, runSemievol, seconds, type BenchEnv, type SemievolRun, type Verdict } from './harness';

export interface CostResult {
  unlabeled: number;
  inconsistentShare: number;
  collaborate: StageUsage;
  justify: StageUsage;
  wholeRun: StageUsage;
  rerun: { ms: number; firstMs: number; chatCalls: number; otherProviderRequests: number; usage: StageUsage };
  cachedStage: { ms: number; firstMs: number; calls: number; cachedCalls: number; chatCalls: number };
}

async function stageTiming(env: BenchEnv, workflowId: string): Promise<number> {
  const d = await env.client.workflow.getHandle(workflowId).describe();
  return (d.closeTime?.getTime() ?? Date.now()) - d.startTime.getTime();
}

export async function cost(
  env: BenchEnv,
  run: SemievolRun,
  double: ProviderDouble,
  taskQueue: string,
): Promise<CostResult> {
  const usageOf = async (stage: string) =>
    ((await env.client.workflow.getHandle(childId(run.runId, stage)).result()) as { usage: StageUsage }).usage;
  const collaborate = await usageOf('collaborate');
  const justify = await usageOf('justify');
  const firstCollaborateMs = await stageTiming(env, childId(run.runId, 'collaborate'));

  // The same run again, same id: every stage finds its finished shards, jobs and answers.
  await double.clearRequests();
  const rerun = await runSemievol(env, taskQueue, run.input);
  const requests = await double.requests();
  const chatCalls = requests.filter((r) => r.path === '/v1/chat/completions').length;

  // The collaborate stage under a new run id: no shard is found by name, so every call goes to the gateway's cache.
  const history = await env.client.workflow.getHandle(childId(run.runId, 'collaborate')).fetchHistory();
  const original = defaultPayloadConverter.fromPayload(
    history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0],
  ) as CollaborateStageInput;
  const again = `${run.runId}-cache`;
  await double.clearRequests();
  const started = Date.now();
  const cached = await execute<{ usage: StageUsage }>(
    env,
    'collaborate',
    { taskQueue, workflowId: childId(again, 'collaborate'), args: [{ ...original, runId: again }] },
    5 * 60_000,
  );
  const cachedMs = Date.now() - started;

  const n = run.result.pseudoLabels.counts.questions;
  env.log(
    `cost: re-run made ${chatCalls} chat calls; ` +
      `collaborate under a new id made ${cached.usage.calls} calls, ${cached.usage.cachedCalls} from the cache`,
  );
  return {
    unlabeled: n,
    inconsistentShare: run.result.pseudoLabels.justified / n,
    collaborate,
    justify,
    wholeRun: run.result.usage,
    rerun: {
      ms: rerun.ms,
      firstMs: run.ms,
      chatCalls,
      otherProviderRequests: requests.length - chatCalls,
      usage: rerun.result.usage,
    },
    cachedStage: {
      ms: cachedMs,
      firstMs: firstCollaborateMs,
      calls: cached.usage.calls,
      cachedCalls: cached.usage.cachedCalls,
      chatCalls: (await double.requests()).length,
    },
  };
}

export function costReport(r: CostResult): string[] {
  const per = (x: number) => fmt(x / r.unlabeled, 1);
  const tokens = (u: StageUsage) => u.promptTokens + u.completionTokens;
  const both = {
    prompt: r.collaborate.promptTokens + r.justify.promptTokens,
    completion: r.collaborate.completionTokens + r.justify.completionTokens,
  };
  // The authors' budget: 4 samples of up to 1,024 completion tokens, and up to 4,096 for each
  // self-justification; ours 1,024.
  const budget = (justifyMax: number) => 4 * 1024 + r.inconsistentShare * justifyMax;
  return [
    `The whole SemiEvol run of the history benchmark (${fmt(r.unlabeled)} unlabeled questions; ` +
      `${(r.inconsistentShare * 100).toFixed(1)}% inconsistent, so self-justified). ` +
      'Tokens as the provider test double counts them (words and punctuation); ' +
      'its simulated completions are short, ' +
      'so completion tokens are far below what a real model writes at these limits.',
    '',
    '| per unlabeled question | calls | prompt tokens | completion tokens | total |',
    '|---|---|---|---|---|',
    `| collaborate (4 collaborators, max_tokens 1,024) | ${per(r.collaborate.calls)} | ` +
      `${per(r.collaborate.promptTokens)} | ${per(r.collaborate.completionTokens)} | ${per(tokens(r.collaborate))} |`,
    `| justify (inconsistent questions, max_tokens 1,024) | ${per(r.justify.calls)} | ` +
      `${per(r.justify.promptTokens)} | ${per(r.justify.completionTokens)} | ${per(tokens(r.justify))} |`,
    `| **collaborate + justify** | ${per(r.collaborate.calls + r.justify.calls)} | ` +
      `${per(both.prompt)} | ${per(both.completion)} | **${per(both.prompt + both.completion)}** |`,
    `| whole run, evaluations included | ${per(r.wholeRun.calls)} | ` +
      `${per(r.wholeRun.promptTokens)} | ${per(r.wholeRun.completionTokens)} | ${per(tokens(r.wholeRun))} |`,
    '',
    `Completion budget per unlabeled question at these limits: ${fmt(budget(1024))} tokens here ` +
      `(4 x 1,024 + ${(r.inconsistentShare * 100).toFixed(1)}% x 1,024), ` +
      `${fmt(budget(4096))} with the authors' 4,096-token self-justification. ` +
      `At gpt-4o-mini list prices the simulated run cost $${r.wholeRun.costUsd.toFixed(4)}.`,
    '',
    '| re-run | wall time | first time | chat calls to the provider | paid calls | answered from the response cache |',
    '|---|---|---|---|---|---|',
    `| the finished run, same run id | ${seconds(r.rerun.ms).toFixed(2)} s | ` +
      `${seconds(r.rerun.firstMs).toFixed(2)} s | ` +
      `**${r.rerun.chatCalls}** (other provider requests: ${r.rerun.otherProviderRequests}) | ` +
      `${r.rerun.usage.calls} | ${r.rerun.usage.cachedCalls} (stages find their finished shards first) |`,
    `| the collaborate stage under a new run id | ${seconds(r.cachedStage.ms).toFixed(2)} s | ` +
      `${seconds(r.cachedStage.firstMs).toFixed(2)} s | **${r.cachedStage.chatCalls}** | ` +
      `${r.cachedStage.calls} | ${fmt(r.cachedStage.cachedCalls)} |`,
    '',
    'Target, a re-run of a finished stage makes zero calls: ' +
      `${r.rerun.chatCalls === 0 && r.cachedStage.chatCalls === 0 ? 'met' : 'NOT met'}.`,
  ];
}

export const costVerdict = (r: CostResult): Verdict => ({
  benchmark: '6. cost',
  target: 'a re-run of a finished stage makes zero calls',
  measured:
    `${fmt(
      (r.collaborate.promptTokens +
        r.collaborate.completionTokens +
        r.justify.promptTokens +
        r.justify.completionTokens) /
        r.unlabeled,
      0,
    )} tokens per unlabeled question (simulated); ` +
    `re-runs: ${r.rerun.chatCalls} and ${r.cachedStage.chatCalls} calls`,
  met: r.rerun.chatCalls === 0 && r.cachedStage.chatCalls === 0,
});
