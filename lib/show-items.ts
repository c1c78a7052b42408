// `flt show`'s items: a run's recorded stage outputs joined per item (SemiEvol's unlabeled questions, SELF-GUIDE's
// generated inputs), filtered and written as wrapped text blocks. Pure: cli/show.ts reads the artifacts.
import type { AnswerReading } from '../core/answer-reading';
import {
  collaboratorAnswers,
  isInconsistent,
  pseudoLabel,
  type CollaborationRecord,
  type CollaboratorSetup,
  type DropReason,
  type EntropyOver,
  type RecordedResponse,
} from '../core/semievol';
import { annotationVoter, type AnnotationDropReason, type AnnotationSpec } from '../core/selfguide-annotation';
import type { FilteredInput, InputDropReason } from '../core/selfguide-filters';
import type { McqItem } from '../core/types';

/** The stages `flt show` joins per item, in run order; `[stage]` shows the items as they stood after it. */
export const itemStages = {
  semievol: ['collaborate', 'justify', 'select'],
  selfguide: ['generate-inputs', 'filter-inputs', 'annotate-outputs'],
} as const;
export type ShownMethod = keyof typeof itemStages;

/** The reasons `--reason` takes: what each method records for an item it leaves out. */
export const recordedReasons: Record<ShownMethod, readonly string[]> = {
  semievol: ['no-answer', 'cut-off', 'no-logprobs'] satisfies DropReason[],
  selfguide: ['empty', 'noise', 'length', 'duplicate', 'no-majority', 'not-a-label', 'balancing'] satisfies (
    InputDropReason | AnnotationDropReason
  )[],
};

export interface SemievolItem {
  number: number;
  id: string;
  question: string;
  options: string[];
  /** After collaborate; null for a question the provider refused there. */
  collaborators?: { model: string; examples: number; answer: string | null; response: string }[] | null;
  consistent?: boolean;
  /** After justify: the justifier's response and answer, null for a consistent question. */
  justification?: { response: string; answer: string | null } | null;
  /** After justify: the pseudo-label and its entropy H, or why the question has none. */
  pseudoLabel?: { label: string; entropy: number } | { label: null; dropped: DropReason };
  /** After select. */
  selected?: boolean;
  /** D_U's withheld answer, where the data has it: a diagnostic no stage read. */
  gold?: string;
}

export interface SelfGuideItem {
  number: number;
  input: string;
  round?: number;
  /** After filter-inputs. */
  filter?: { kept: boolean; reason: InputDropReason | null };
  /** After annotate-outputs, for a kept input: each answer the filtered samples gave, most votes first. */
  annotation?: {
    samples: number;
    votes: { answer: string; count: number }[];
    /** The pair's output, or why the input has none; `refused`: the provider refused to annotate it. */
    kept: string | null;
    dropped: AnnotationDropReason | 'refused' | null;
  };
}

export type ShownItem = SemievolItem | SelfGuideItem;

/** What the SemiEvol run recorded, as far as it got: each later part is null until its stage has finished. */
export interface SemievolRecords {
  questions: McqItem[];
  collaborators: CollaboratorSetup[];
  reading: { answers: AnswerReading; entropyOver: EntropyOver };
  answers: Map<string, RecordedResponse[]> | null;
  records: Map<string, CollaborationRecord> | null;
  selected: Set<string> | null;
  gold: Map<string, string | null>;
}

export function semievolItems(r: SemievolRecords): SemievolItem[] {
  return r.questions.map((question, i) => {
    const item: SemievolItem = {
      number: i + 1,
      id: question.id,
      question: question.question,
      options: question.options,
    };
    const record = r.records?.get(question.id);
    const responses = record?.collaborators ?? r.answers?.get(question.id);
    if (r.answers || r.records) item.collaborators = null;
    if (responses) {
      const answered = { options: question.options, collaborators: responses };
      const answers = collaboratorAnswers(answered, r.reading.answers);
      item.collaborators = responses.map((response, j) => ({
        model: `M_${r.collaborators[j]?.model ?? '?'}`,
        examples: r.collaborators[j]?.examples ?? 0,
        answer: answers[j],
        response: response.response,
      }));
      item.consistent = !isInconsistent(answered, r.reading.answers);
    }
    if (record) {
      const label = pseudoLabel(record, r.reading);
      item.justification = record.reflection && {
        response: record.reflection.response,
        answer: collaboratorAnswers(
          { options: record.options, collaborators: [record.reflection] },
          r.reading.answers,
        )[0],
      };
      item.pseudoLabel =
        label.label === null ? { label: null, dropped: label.dropped } : { label: label.label, entropy: label.entropy };
    }
    if (r.selected) item.selected = r.selected.has(question.id);
    const gold = r.gold.get(question.id);
    if (gold) item.gold = gold;
    return item;
  });
}

/** What the SELF-GUIDE run recorded, as far as it got: each later part is null until its stage has finished. */
export interface SelfGuideRecords {
  generated: { input: string; round: number }[];
  filtered: FilteredInput[] | null;
  /** Each kept input's samples, by the input as annotated (trimmed). */
  samples: Map<string, string[]> | null;
  /** The synthetic pairs' outputs, by input. */
  pairs: Map<string, string> | null;
  annotation: AnnotationSpec;
}

export function selfGuideItems(r: SelfGuideRecords): SelfGuideItem[] {
  const vote = annotationVoter(r.annotation);
  // The filter report lists the generated inputs in order; before it, the generated inputs are the items.
  const inputs = r.filtered ?? r.generated.map(({ input }) => ({ input, kept: true, reason: null }));
  return inputs.map((filtered, i) => {
    const item: SelfGuideItem = { number: i + 1, input: filtered.input };
    const round = r.generated[i]?.input === filtered.input ? r.generated[i].round : undefined;
    if (round !== undefined) item.round = round;
    if (r.filtered) item.filter = { kept: filtered.kept, reason: filtered.reason };
    if (r.samples && r.pairs && filtered.kept) {
      const text = filtered.input.trim();
      const samples = r.samples.get(text);
      const counts = new Map<string, number>();
      const result = samples ? vote(samples) : null;
      for (const voter of result?.voters ?? []) counts.set(voter.trim(), (counts.get(voter.trim()) ?? 0) + 1);
      const kept = r.pairs.get(text) ?? null;
      item.annotation = {
        samples: samples?.length ?? 0,
        votes: [...counts].map(([answer, count]) => ({ answer, count })).sort((a, b) => b.count - a.count),
        kept,
        dropped: kept !== null ? null : !result ? 'refused' : (result.dropped ?? 'balancing'),
      };
    }
    return item;
  });
}

export interface ItemFilters {
  selected?: boolean;
  rejected?: boolean;
  reason?: string;
  grep?: RegExp;
}

/** The reason an item was left out, under the names `recordedReasons` lists; null when it was not. */
export function reasonOf(item: ShownItem): string | null {
  if ('question' in item) return item.pseudoLabel?.label === null ? item.pseudoLabel.dropped : null;
  return item.filter?.reason ?? (item.annotation?.dropped !== 'refused' ? (item.annotation?.dropped ?? null) : null);
}

/** `--selected`/`--rejected`: SemiEvol's selection, SELF-GUIDE's filter verdict; undefined before that stage. */
export function isSelected(item: ShownItem): boolean | undefined {
  return 'question' in item ? item.selected : item.filter?.kept;
}

/** The text `--grep` searches: the question or input, its options, and every answer recorded for it. */
export function searchedText(item: ShownItem): string {
  if ('question' in item)
    return [
      item.question,
      ...item.options,
      ...(item.collaborators ?? []).flatMap((c) => [c.answer ?? '', c.response]),
      item.justification?.response ?? '',
      item.pseudoLabel?.label ?? '',
    ].join('\n');
  return [item.input, ...(item.annotation?.votes ?? []).map((v) => v.answer), item.annotation?.kept ?? ''].join('\n');
}

export function filterItems<T extends ShownItem>(items: readonly T[], filters: ItemFilters): T[] {
  return items.filter(
    (item) =>
      (!filters.selected || isSelected(item) === true) &&
      (!filters.rejected || isSelected(item) === false) &&
      (!filters.reason || reasonOf(item) === filters.reason) &&
      (!filters.grep || filters.grep.test(searchedText(item))),
  );
}

/**
 * `text` in lines of at most `width` columns where its words allow: the first after `first` (the label), the others
 * after `indent`; its line breaks kept (blank lines left out), a word longer than a line broken across lines, nothing
 * cut.
 */
export function wrap(text: string, width: number, first: string, indent: string): string[] {
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  const push = () => {
    lines.push(line.trimEnd());
    line = indent;
    fresh = true;
  };
  const paragraphs = text.split(/\r?\n/).filter((paragraph) => paragraph.trim());
  paragraphs.forEach((paragraph, p) => {
    if (p > 0) push();
    for (let word of paragraph.split(/\s+/).filter(Boolean)) {
      if (!fresh && line.length + 1 + word.length > width) push();
      else if (!fresh) line += ' ';
      while (line.length + word.length > width && width > line.length) {
        const room = width - line.length;
        line += word.slice(0, room);
        word = word.slice(room);
        push();
      }
      line += word;
      fresh = false;
    }
  });
  lines.push(line.trimEnd());
  return lines;
}

const letter = (i: number) => String.fromCharCode(65 + i);
const entropyText = (h: number) => h.toFixed(3);
const dropText: Record<DropReason | AnnotationDropReason | InputDropReason | 'refused', string> = {
  'no-answer': 'no pseudo-label: no answer (no-answer)',
  'cut-off': 'no pseudo-label: cut off by max tokens before an answer (cut-off)',
  'no-logprobs': 'no pseudo-label: no usable log-probabilities (no-logprobs)',
  'no-majority': 'no pair: no answer had the majority share (no-majority)',
  'not-a-label': 'no pair: the winning answer is not a label (not-a-label)',
  balancing: 'no pair: left out to balance the classes (balancing)',
  refused: 'no pair: the provider refused to annotate it',
  empty: 'removed: empty',
  noise: 'removed: noise',
  length: 'removed: length',
  duplicate: 'removed: duplicate',
};

function semievolBlock(item: SemievolItem, field: (label: string, text: string) => string[]): string[] {
  const lines = field('question', item.question);
  item.options.forEach((option, i) => lines.push(...field(`option ${letter(i)}`, option)));
  if (item.collaborators) {
    item.collaborators.forEach((c, j) =>
      lines.push(
        ...field(
          `collaborator ${j + 1}`,
          `${c.answer ?? 'no answer'} (${c.model}, ${c.examples} example${c.examples === 1 ? '' : 's'})`,
        ),
      ),
    );
    const agreement = item.consistent ? 'consistent: every collaborator agrees' : 'inconsistent: they disagree';
    lines.push(...field('consistency', agreement));
  }
  if (item.collaborators === null) lines.push(...field('collaborators', 'none: the provider refused the question'));
  if (item.justification) {
    lines.push(...field('justification', item.justification.response));
    lines.push(...field('justified answer', item.justification.answer ?? 'none'));
  }
  if (item.pseudoLabel)
    lines.push(
      ...(item.pseudoLabel.label === null
        ? field('pseudo-label', dropText[item.pseudoLabel.dropped])
        : field('pseudo-label', `${item.pseudoLabel.label}, entropy ${entropyText(item.pseudoLabel.entropy)}`)),
    );
  if (item.selected !== undefined) lines.push(...field('selected', item.selected ? 'yes' : 'no'));
  if (item.gold) lines.push(...field('gold (withheld from the run)', item.gold));
  return lines;
}

function selfGuideBlock(item: SelfGuideItem, field: (label: string, text: string) => string[]): string[] {
  const lines = field('input', item.input === '' ? '(empty)' : item.input);
  if (item.filter) lines.push(...field('filter', item.filter.kept ? 'kept' : dropText[item.filter.reason!]));
  if (item.annotation) {
    const { samples, votes, kept, dropped } = item.annotation;
    const voted = votes.reduce((sum, v) => sum + v.count, 0);
    lines.push(...field('samples', `${samples} drawn, ${voted} passed the sample filters and voted`));
    for (const v of votes) lines.push(...field(`  ${v.count} ×`, v.answer));
    lines.push(...field('kept answer', kept ?? dropText[dropped!]));
  }
  return lines;
}

/** One item as a block of lines no wider than `width` (where words allow), its number first. */
export function itemBlock(item: ShownItem, total: number, width: number): string[] {
  const field = (label: string, text: string) => wrap(text, width, `  ${label}: `, '    ');
  const verdict = isSelected(item);
  const mark = 'question' in item ? (verdict === undefined ? '' : verdict ? ' · selected' : ' · not selected') : '';
  const round = 'input' in item && item.round !== undefined ? ` · round ${item.round}` : '';
  const id = 'question' in item ? ` · ${item.id}` : '';
  const head = `item ${item.number} of ${total}${id}${round}${mark}`;
  return [head, ...('question' in item ? semievolBlock(item, field) : selfGuideBlock(item, field))];
}

/** A shell word as typed: quoted where the shell would read it otherwise. */
export const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
