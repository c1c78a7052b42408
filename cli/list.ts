// `flt list`: the project's runs found through visibility queries on their search attributes, newest first, each
// with its score under the name its method measures it by.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { searchAttributes } from '../core/search-attributes';
import type { SelfGuideRunResult } from '../workflows/selfguide';
import { connect } from './connection';

/**
 * FltAccuracy under its own name: a SemiEvol or evaluation run's test accuracy, a SELF-GUIDE run's score by its metric
 * (exact-match, rouge-l), a campaign's worst-task gain over few-shot prompting; nothing before a run has one.
 */
export function scoreCell(method: string | undefined, value: number | undefined, metric?: string): string {
  if (value === undefined) return '';
  if (method === 'selfguide-campaign') return `worst-task gain ${value < 0 ? '' : '+'}${value.toFixed(3)}`;
  if (method === 'selfguide') return `${metric ?? 'score'} ${value.toFixed(3)}`;
  return `accuracy ${value.toFixed(3)}`;
}

const header = ['run id', 'status', 'method', 'task', 'stage', 'score', 'started'];

/** A SELF-GUIDE run's metric is in its result only; other methods' scores need no more than the attributes. */
async function scoreMetric(client: Client, run: WorkflowExecutionInfo): Promise<string | undefined> {
  if (run.typedSearchAttributes.get(searchAttributes.method) !== 'selfguide' || run.status.name !== 'COMPLETED')
    return undefined;
  const result: SelfGuideRunResult = await client.workflow.getHandle(run.workflowId, run.runId).result();
  return result.evaluations.at(-1)?.score.metric;
}

export interface ListOptions {
  method?: string;
  task?: string;
  stage?: string;
  status?: string;
  limit: number;
}

export async function listCommand(opts: ListOptions): Promise<void> {
  const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;
  // Child workflows carry their run's attributes too (workflows/shared.ts): only runs are listed.
  const clauses = [`${searchAttributes.method.name} IS NOT NULL`, 'ParentWorkflowId IS NULL'];
  if (opts.method) clauses.push(`${searchAttributes.method.name} = ${quote(opts.method)}`);
  if (opts.task) clauses.push(`${searchAttributes.task.name} = ${quote(opts.task)}`);
  if (opts.stage) clauses.push(`${searchAttributes.stage.name} = ${quote(opts.stage)}`);
  if (opts.status) clauses.push(`ExecutionStatus = ${quote(opts.status)}`);
  const client = await connect();
  // Visibility lists running runs first (SQLite orders by close time), and its ORDER BY is not portable: sorted here.
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of client.workflow.list({ query: clauses.join(' AND ') })) runs.push(run);
  runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  if (!runs.length) return console.log('no runs match');
  console.log(header.join('\t'));
  for (const run of runs.slice(0, opts.limit)) {
    const attrs = run.typedSearchAttributes;
    const method = attrs.get(searchAttributes.method);
    console.log(
      [
        run.workflowId,
        run.status.name,
        method,
        attrs.get(searchAttributes.task),
        attrs.get(searchAttributes.stage),
        scoreCell(method, attrs.get(searchAttributes.accuracy), await scoreMetric(client, run)),
        run.startTime.toISOString(),
      ].join('\t'),
    );
  }
}
