// Human review before a fine-tune: the items a stage would train on, as `flt review --export` writes them (one JSON
// object a line, each accepted until marked otherwise), and the checks `flt review --apply` makes on the edited file.
// Only `decision` may change: an edited question or answer would be trained on unseen, so it is refused.
import type { SelectedLine } from './semievol';
import type { ArtifactRef, IoExample, McqItem } from './types';

export const reviewDecisions = ['accept', 'reject'] as const;
export type ReviewDecision = (typeof reviewDecisions)[number];

/** One line of a review file: the id and the decision first, so they are easy to find and edit. */
export type ReviewItem = { id: string; decision: ReviewDecision } & Record<string, unknown>;

/** What a review decided, kept in the run's result; `decisions` is the artifact `flt review --apply` recorded. */
export interface ReviewOutcome {
  accepted: number;
  rejected: number;
  decisions: ArtifactRef;
}

/**
 * Where `flt review --apply` records the decisions on a set of items: by the items' content, so a run that reaches
 * the same items again (`flt resume`) takes the decisions already made instead of waiting for them.
 */
export const reviewDecisionsName = (items: ArtifactRef) => `reviews/${items.sha256}/decisions`;

/** A line of the decisions artifact the run reads. */
export interface ReviewVerdict {
  id: string;
  decision: ReviewDecision;
}

/** A SemiEvol pseudo-label as reviewed: the question with its options, the label, and how sure the run was. */
export function semievolReviewItem(line: SelectedLine, question: McqItem): ReviewItem {
  return {
    id: line.id,
    decision: 'accept',
    question: question.question,
    options: question.options,
    pseudo_label: line.pseudo_label,
    entropy: line.entropy,
    consistent: line.consistent,
  };
}

/** A SELF-GUIDE synthetic pair as reviewed; its id is its 1-based place among the run's pairs. */
export const selfGuideReviewItem = (pair: IoExample, index: number): ReviewItem => ({
  id: String(index + 1),
  decision: 'accept',
  input: pair.input,
  output: pair.output,
});

export interface ReadReview {
  verdicts: ReviewVerdict[];
  accepted: number;
  rejected: number;
}

/**
 * Checks an edited review file against the items exported: every line an exported item, once, with a decision and
 * its other fields as exported. Throws one sentence naming the file and line; blank lines are skipped.
 */
export function readReviewFile(text: string, file: string, exported: readonly ReviewItem[]): ReadReview {
  const byId = new Map(exported.map((item) => [item.id, item]));
  const seen = new Map<string, number>();
  const verdicts: ReviewVerdict[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const where = `${file} line ${i + 1}`;
    if (!raw.trim()) return;
    let line: unknown;
    try {
      line = JSON.parse(raw);
    } catch {
      throw new Error(`${where} is not JSON: each line is one item as \`flt review --export\` wrote it.`);
    }
    if (!line || typeof line !== 'object' || Array.isArray(line))
      throw new Error(`${where} is not a JSON object: each line is one item as \`flt review --export\` wrote it.`);
    const { id, decision, ...fields } = line as Record<string, unknown>;
    if (typeof id !== 'string' || !byId.has(id))
      throw new Error(`${where}: id ${JSON.stringify(id)} is not among the ${exported.length} items under review.`);
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new Error(`${where}: item ${id} is already decided on line ${earlier}.`);
    seen.set(id, i + 1);
    if (!reviewDecisions.includes(decision as ReviewDecision))
      throw new Error(`${where}: decision must be "accept" or "reject", got ${JSON.stringify(decision)}.`);
    const { id: _id, decision: _decision, ...original } = byId.get(id)!;
    for (const key of new Set([...Object.keys(original), ...Object.keys(fields)])) {
      if (JSON.stringify(fields[key]) !== JSON.stringify(original[key]))
        throw new Error(
          `${where}: "${key}" of item ${id} differs from the exported item; only "decision" may change ` +
            '(reject the item rather than edit it).',
        );
    }
    verdicts.push({ id, decision: decision as ReviewDecision });
  });
  const missing = exported.filter((item) => !seen.has(item.id));
  if (missing.length) {
    const ids = missing.slice(0, 5).map((item) => item.id);
    const more = missing.length > ids.length ? ` and ${missing.length - ids.length} more` : '';
    throw new Error(`${file} has no line for item ${ids.join(', ')}${more}: every exported item needs a decision.`);
  }
  const accepted = verdicts.filter((v) => v.decision === 'accept').length;
  return { verdicts, accepted, rejected: verdicts.length - accepted };
}
