// What a run report shows, gathered from a finished run: its result and input (through the Temporal client) and the
// artifacts the result references (SemiEvol's records and selection, SELF-GUIDE's synthetic pairs), read from the
// artifact store, which must be the workers' (FLT_ARTIFACT_ROOT).
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { ProvidersConfig } from '../../core/config';
import { searchAttributes } from '../../core/search-attributes';
import { effectiveSetting, gridSettings, settingKey } from '../../core/selfguide-campaign';
import { pseudoLabel, type CollaborationRecord, type PseudoLabelCounts, type SelectedLine } from '../../core/semievol';
import { promptCacheShare, type IoExample, type StageUsage } from '../../core/types';
import { evaluationItemFailures, type PseudoLabelAccuracy, type StageItemFailures } from '../../core/contracts';
import type { StageCost } from '../../core/workflow-messages';
import type { EvaluationRunResult } from '../../workflows/evaluation-run';
import type { SelfGuideRunResult } from '../../workflows/selfguide';
import type { SelfGuideCampaignInput, SelfGuideCampaignResult } from '../../workflows/selfguide-campaign';
import type { SemievolRunResult } from '../../workflows/semievol';
import type { ArtifactStore } from '../artifacts';
import { summarizeResult } from '../methods';
import { checkRunPart, isReportedWorkflow, type ReportedWorkflow } from './run-shapes';
import type { BarGroup, FunnelStep } from './charts';
import type { RunItems } from './items';

export interface CostLine {
  stage: string;
  /** Measured: the stage's model and embedding calls. */
  callsUsd: number;
  /** Estimated: providers do not report what a fine-tune job cost. */
  trainingUsd: number;
  /** Estimated from measured wall time: serving billed by time (core/serving-spend.ts); absent where none. */
  servingUsd?: number;
  /** The share of the stage's prompt tokens the provider's prompt cache served; absent where none. */
  promptCacheShare?: number;
  /** The estimate the stage was let through on (an upper bound); null when the run was started without one. */
  estimateUsd: number | null;
}

export interface SemievolReport {
  /** H of every pseudo-labeled question, and whether it was selected. */
  entropies: { value: number; selected: boolean }[];
  threshold: number | null;
  selection: SemievolRunResult['plan']['selection'];
  counts: PseudoLabelCounts;
  consistencyRate: number;
  justified: number;
  accuracy: PseudoLabelAccuracy;
  /** Questions the provider refused in collaborate and justify; absent when none. */
  itemFailures?: StageItemFailures;
}

export interface SelfGuideReport {
  task: string;
  runId: string;
  /** Generated inputs, what each filter removed, what was annotated, what the vote dropped, the pairs kept. */
  funnel: FunnelStep[];
  /** Classification: synthetic pairs per label after balancing; null for generation tasks. */
  classes: { label: string; count: number }[] | null;
  /** Prompts and inputs the provider refused in generate-inputs and annotate-outputs; absent when none. */
  itemFailures?: StageItemFailures;
}

export interface CampaignReport {
  settings: string[];
  tasks: string[];
  /** gains[setting][task]: SELF-GUIDE's score minus few-shot prompting's; the last column is the worst task's. */
  gains: (number | null)[][];
  /**
   * The chosen setting of each group of task kinds (all of them, or one kind each under `campaign.choose: per-kind`)
   * with its worst gain on those kinds' tasks; the heat map outlines the first.
   */
  choices: { kinds: string[]; setting: string; worstGain: number }[];
  /** Every task run's refused items, keyed `<task> <stage>`; absent when none. */
  itemFailures?: StageItemFailures;
}

export interface ReportData {
  runId: string;
  workflowType: string;
  method: string;
  task: string;
  startedAt: Date;
  closedAt: Date | null;
  /** The run used the provider test double: its figures are simulated. */
  simulated: boolean;
  summary: string[];
  usage: StageUsage;
  /** Scores in [0, 1] per task, one bar per model or baseline, and the test items each evaluation left out. */
  scores: { metric: string; groups: BarGroup[]; itemFailures?: StageItemFailures };
  costs: CostLine[] | null;
  semievol?: SemievolReport;
  selfGuide?: SelfGuideReport[];
  campaign?: CampaignReport;
  /** Each SemiEvol or SELF-GUIDE run's items for the page's item browser (a campaign's: its test runs'). */
  items?: RunItems[];
}

/** A run that has no report (yet): the message says why and what to do. */
export class ReportError extends Error {}

const methods: Record<ReportedWorkflow, string> = {
  evaluationRun: 'evaluate',
  semievolRun: 'semievol',
  selfGuideRun: 'selfguide',
  selfGuideCampaign: 'selfguide-campaign',
};

function costLines(costs: StageCost[] | undefined): CostLine[] | null {
  if (!costs?.length) return null;
  return costs.map((c) => {
    const cacheShare = promptCacheShare(c.usage);
    return {
      stage: c.stage,
      callsUsd: c.usage.costUsd - (c.usage.timeBilledUsd ?? 0),
      trainingUsd: c.estimate?.trainingUsd ?? 0,
      ...(c.usage.timeBilledUsd ? { servingUsd: c.usage.timeBilledUsd } : {}),
      ...(cacheShare === null ? {} : { promptCacheShare: cacheShare }),
      estimateUsd: c.estimate?.costUsd ?? null,
    };
  });
}

async function semievolReport(store: ArtifactStore, result: SemievolRunResult): Promise<SemievolReport> {
  const p = result.pseudoLabels;
  const selected = new Set<string>();
  for await (const line of store.readJsonl<SelectedLine>(p.selected)) selected.add(line.id);
  const entropies: SemievolReport['entropies'] = [];
  for await (const record of store.readJsonl<CollaborationRecord>(p.records)) {
    const label = pseudoLabel(record, { answers: result.plan.answers ?? 'ours', entropyOver: 'response' });
    if (label.label !== null) entropies.push({ value: label.entropy, selected: selected.has(label.id) });
  }
  return {
    entropies,
    threshold: p.threshold,
    selection: result.plan.selection,
    counts: p.counts,
    consistencyRate: p.consistencyRate,
    justified: p.justified,
    accuracy: p.accuracy,
    ...withFailures(result.itemFailures),
  };
}

async function selfGuideReport(store: ArtifactStore, result: SelfGuideRunResult): Promise<SelfGuideReport> {
  const f = result.inputs.filters;
  const d = result.synthetic.dropped;
  const funnel: FunnelStep[] = [
    { label: 'generated inputs', count: result.inputs.generated, kind: 'stage' },
    { label: 'removed: empty', count: f.empty, kind: 'removed' },
    { label: 'removed: noise', count: f.noise, kind: 'removed' },
    { label: 'removed: length', count: f.length, kind: 'removed' },
    { label: 'removed: duplicate', count: f.duplicate, kind: 'removed' },
    { label: 'annotated inputs', count: f.kept, kind: 'stage' },
    { label: 'dropped: no 30% majority', count: d['no-majority'], kind: 'removed' },
    { label: 'dropped: not a label', count: d['not-a-label'], kind: 'removed' },
    { label: 'dropped: class balancing', count: d.balancing, kind: 'removed' },
    { label: 'synthetic pairs kept', count: result.synthetic.pairs, kind: 'stage' },
  ];
  let classes: SelfGuideReport['classes'] = null;
  if (result.evaluations[0]?.score.metric === 'exact-match') {
    const counts = new Map<string, number>();
    for await (const pair of store.readJsonl<IoExample>(result.synthetic.data))
      counts.set(pair.output, (counts.get(pair.output) ?? 0) + 1);
    classes = [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => a.label.localeCompare(b.label));
  }
  return {
    task: result.task,
    runId: result.runId,
    funnel,
    classes,
    ...withFailures(result.itemFailures),
  };
}

const selfGuideLabels = ['few-shot prompting', 'Self-ICL', 'few-shot fine-tuning', 'SELF-GUIDE'];

function campaignReport(input: SelfGuideCampaignInput, result: SelfGuideCampaignResult): CampaignReport {
  const tasks = input.validation.map((v) => v.task);
  const baseline = new Map(result.baselines.map((b) => [b.task, b.score]));
  const settings = gridSettings(input.grid);
  const gains = settings.map((setting) => {
    const perTask = tasks.map((task) => {
      const key = settingKey(effectiveSetting(setting, task.kind));
      const cell = result.cells.find((c) => c.task === task.name && settingKey(c.setting) === key);
      return cell ? cell.score - baseline.get(task.name)! : null;
    });
    const known = perTask.filter((g): g is number => g !== null);
    return [...perTask, known.length === perTask.length ? Math.min(...known) : null];
  });
  return {
    settings: settings.map(settingKey),
    tasks: [...tasks.map((t) => t.name), 'worst task'],
    gains,
    choices: result.choices.map((c) => ({ kinds: c.kinds, setting: settingKey(c.setting), worstGain: c.worstGain })),
    ...withFailures(result.itemFailures),
  };
}

/** Everything the report draws, for a completed run. */
export async function loadReportData(client: Client, store: ArtifactStore, runId: string): Promise<ReportData> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  if (description.status.name !== 'COMPLETED') {
    throw new ReportError(
      `Run ${runId} is ${description.status.name}; a report is drawn from a completed run's result ` +
        `(\`flt watch ${runId}\` follows a running one).`,
    );
  }
  const type = description.type;
  if (!isReportedWorkflow(type))
    throw new ReportError(`Run ${runId} is a ${type}, which has no report; report on the run that started it.`);
  const method = methods[type];
  const check = (id: string, of: ReportedWorkflow, part: 'input' | 'result', value: unknown) =>
    checkRunPart(id, of, part, value, (message) => new ReportError(message));
  const history = await handle.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = await decodeFromPayloadsAtIndex<{ providers: ProvidersConfig; task?: unknown }>(
    client.options.loadedDataConverter,
    0,
    started?.input?.payloads,
  );
  check(runId, type, 'input', input);
  const result = (await handle.result()) as { usage: StageUsage; costs?: StageCost[] };
  check(runId, type, 'result', result);
  const base = {
    runId,
    workflowType: description.type,
    method,
    task: description.typedSearchAttributes.get(searchAttributes.task) ?? '',
    startedAt: description.startTime,
    closedAt: description.closeTime ?? null,
    simulated: Object.values(input.providers).some((p) => p.kind === 'openai-compatible' && p.testDouble),
    summary: summarizeResult(description.type, result),
    usage: result.usage,
    costs: costLines(result.costs),
  };

  if (description.type === 'evaluationRun') {
    const r = result as EvaluationRunResult;
    return {
      ...base,
      scores: {
        metric: 'accuracy',
        groups: [
          {
            label: r.task,
            bars: r.evaluations.map((e) => ({
              label: `${e.model.provider}/${e.model.model}`,
              value: e.score.accuracy,
            })),
          },
        ],
        ...withFailures(evaluationItemFailures(r.evaluations)),
      },
    };
  }
  if (description.type === 'semievolRun') {
    const r = result as SemievolRunResult;
    const e = r.evaluations;
    const bars = [
      { label: 'vanilla', value: e.vanilla.score.accuracy },
      ...(e.sft ? [{ label: 'SFT', value: e.sft.score.accuracy }] : []),
      { label: 'SemiEvol', value: e.semievol.score.accuracy },
      { label: 'RAG', value: e.rag.score.accuracy },
    ];
    return {
      ...base,
      scores: {
        metric: 'accuracy',
        groups: [{ label: r.task, bars }],
        ...withFailures(evaluationItemFailures([e.vanilla, e.sft, e.semievol, e.rag])),
      },
      semievol: await semievolReport(store, r),
    };
  }
  if (description.type === 'selfGuideRun') {
    const r = result as SelfGuideRunResult;
    const group = {
      label: r.task,
      bars: r.evaluations.map((e, i) => ({ label: selfGuideLabels[i], value: e.score.score })),
    };
    return {
      ...base,
      scores: {
        metric: r.evaluations[3].score.metric,
        groups: [group],
        ...withFailures(evaluationItemFailures(r.evaluations)),
      },
      selfGuide: [await selfGuideReport(store, r)],
    };
  }
  const r = result as SelfGuideCampaignResult;
  const testRuns = await Promise.all(
    r.test.map(async (t) => {
      const testRun = (await client.workflow.getHandle(t.runId).result()) as SelfGuideRunResult;
      check(t.runId, 'selfGuideRun', 'result', testRun);
      return testRun;
    }),
  );
  const validationGroups = r.baselines.map((b) => {
    const kind = kindOf(input as SelfGuideCampaignInput, b.task);
    const choice = r.choices.find((c) => c.kinds.includes(kind)) ?? r.choices[0];
    const cell = r.cells.find(
      (c) => c.task === b.task && settingKey(c.setting) === settingKey(effectiveSetting(choice.setting, kind)),
    );
    return {
      label: `${b.task} (validation)`,
      bars: [
        { label: selfGuideLabels[0], value: b.score },
        ...(cell ? [{ label: selfGuideLabels[3], value: cell.score }] : []),
      ],
    };
  });
  const testGroups = testRuns.map((t) => ({
    label: `${t.task} (test)`,
    bars: t.evaluations.map((e, i) => ({ label: selfGuideLabels[i], value: e.score.score })),
  }));
  return {
    ...base,
    scores: { metric: 'score', groups: [...validationGroups, ...testGroups] },
    selfGuide: await Promise.all(testRuns.map((t) => selfGuideReport(store, t))),
    campaign: campaignReport(input as SelfGuideCampaignInput, r),
  };
}

/** `{itemFailures}` when any item failed, so a report without failures carries no empty list. */
const withFailures = (itemFailures: StageItemFailures | undefined) =>
  itemFailures && Object.keys(itemFailures).length ? { itemFailures } : {};

const kindOf = (input: SelfGuideCampaignInput, task: string) =>
  input.validation.find((v) => v.task.name === task)!.task.kind;
