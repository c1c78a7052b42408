// The parts of a finished run's input and result that the report reads, checked before it reads them: a run of
// another version of the project (or another program's workflow under the same type name) then gets one sentence
// naming what differs, not a TypeError from deep inside a chart.
import { z } from 'zod';
import { issueMessage } from '../config-file';

const ref = z.looseObject({ uri: z.string() });
const usage = z.looseObject({
  calls: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  costUsd: z.number(),
});
const common = {
  usage,
  costs: z.array(z.looseObject({ stage: z.string(), usage: z.looseObject({ costUsd: z.number() }) })).optional(),
};
const accuracy = z.looseObject({ score: z.looseObject({ accuracy: z.number() }) });
const selfGuideRun = z.looseObject({
  ...common,
  task: z.string(),
  inputs: z.looseObject({ generated: z.number(), filters: z.looseObject({ kept: z.number() }) }),
  synthetic: z.looseObject({ pairs: z.number(), dropped: z.looseObject({}), data: ref }),
  evaluations: z.array(z.looseObject({ score: z.looseObject({ score: z.number(), metric: z.string() }) })).length(4),
});

const results = {
  evaluationRun: z.looseObject({
    ...common,
    task: z.string(),
    evaluations: z.array(accuracy.extend({ model: z.looseObject({ provider: z.string(), model: z.string() }) })),
  }),
  semievolRun: z.looseObject({
    ...common,
    task: z.string(),
    plan: z.looseObject({ selection: z.unknown() }),
    pseudoLabels: z.looseObject({ selected: ref, records: ref, counts: z.looseObject({}) }),
    evaluations: z.looseObject({ vanilla: accuracy, sft: accuracy.nullish(), semievol: accuracy, rag: accuracy }),
  }),
  selfGuideRun,
  selfGuideCampaign: z.looseObject({
    ...common,
    baselines: z.array(z.looseObject({ task: z.string(), score: z.number() })),
    cells: z.array(z.looseObject({ task: z.string(), setting: z.looseObject({}), score: z.number() })),
    choices: z
      .array(z.looseObject({ setting: z.looseObject({}), kinds: z.array(z.string()), worstGain: z.number() }))
      .min(1),
    test: z.array(z.looseObject({ task: z.string(), runId: z.string() })),
  }),
};

const inputs = {
  any: z.looseObject({ providers: z.record(z.string(), z.looseObject({ kind: z.string() })) }),
  selfGuideCampaign: z.looseObject({
    providers: z.record(z.string(), z.looseObject({ kind: z.string() })),
    grid: z.looseObject({}),
    validation: z.array(z.looseObject({ task: z.looseObject({ name: z.string(), kind: z.string() }) })),
  }),
};

export type ReportedWorkflow = keyof typeof results;

export const isReportedWorkflow = (type: string): type is ReportedWorkflow => Object.hasOwn(results, type);

/** The run's part (input or result) checked against what the report reads; throws `fail`'s error when it differs. */
export function checkRunPart(
  runId: string,
  type: ReportedWorkflow,
  part: 'input' | 'result',
  value: unknown,
  fail: (message: string) => Error,
): void {
  const schema = part === 'result' ? results[type] : type === 'selfGuideCampaign' ? inputs[type] : inputs.any;
  const parsed = schema.safeParse(value);
  if (parsed.success) return;
  const issue = parsed.error.issues[0];
  const field = issue.path.length ? `field "${issue.path.join('.')}" ` : '';
  throw fail(
    `Run ${runId}'s ${part} is not what the report reads from a workflow of type ${type} ` +
      `(${field}${issueMessage(issue)}); another version of flt probably started it; its \`flt report\` can draw it.`,
  );
}
