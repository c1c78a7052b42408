// SemiEvol's decisions, pure so the workflow, its activities and `flt semievol select` share them exactly:
// collaborator setups, consistency, pseudo-labels, entropy and adaptive selection.
import { answerAgreement, readAnswer, type AnswerAgreement, type AnswerReading } from './answer-reading';
import type { Ablation, SelectionOptions, SemievolOptions } from './semievol-config';
import { meanNegativeLogprob, percentile, seededRandom } from './stats';

export type CollaboratorModel = 'warm' | 'base';

/** One collaborator: which model answers, shown how many of the question's nearest labeled examples. */
export interface CollaboratorSetup {
  model: CollaboratorModel;
  examples: number;
}

/** Each collaborator's model and example count, drawn uniformly from models × {0..maxExamples} by the seed. */
export function drawCollaborators(
  n: number,
  models: readonly CollaboratorModel[],
  maxExamples: number,
  seed: number,
): CollaboratorSetup[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => ({
    model: models[Math.floor(random() * models.length)],
    examples: Math.floor(random() * (maxExamples + 1)),
  }));
}

/** Every switch of a run after its ablations are applied. */
export interface SemievolPlan {
  /** In-weight propagation: M_warm is trained and used where the paper uses it; otherwise M_base stands in. */
  warmUp: boolean;
  /** Labeled neighbours retrieved per unlabeled question; 0 means no in-context propagation. */
  k: number;
  collaborators: CollaboratorSetup[];
  selection: SelectionOptions;
  evolveFrom: CollaboratorModel;
  evolveOn: SemievolOptions['evolution']['data'];
  without: Ablation[];
  /** How answers are read, compared and scored; absent in runs started before the option (`ours`). */
  answers?: AnswerReading;
}

export function semievolPlan(options: SemievolOptions, seed: number): SemievolPlan {
  const without = new Set(options.without);
  const warmUp = !without.has('in-weight-propagation');
  const k = without.has('in-context-propagation') ? 0 : options.propagation.k;
  const n = without.has('collaborative-learning') ? 1 : options.collaboration.n;
  return {
    warmUp,
    k,
    collaborators: drawCollaborators(n, warmUp ? options.collaboration.models : ['base'], k, seed),
    selection: without.has('adaptive-selection')
      ? { ...options.selection, theta: 100, among: 'all', strict: false }
      : options.selection,
    evolveFrom: warmUp ? options.evolution.from : 'base',
    evolveOn: options.evolution.data,
    without: [...options.without],
    answers: options.answers,
  };
}

/** A response as recorded: its text and its tokens' log-probabilities (null when the backend gave none). */
export interface RecordedResponse {
  response: string;
  /** null entries are values JSON cannot carry (NaN), which make the response's entropy unusable. */
  logprobs: (number | null)[] | null;
  /** The tokens' texts, aligned with `logprobs` (absent in records made before they were kept). */
  tokens?: string[];
  /** "length" when max tokens cut the response off (absent in records made before it was kept). */
  finishReason?: string;
}

/** Stages 3 and 4 of one unlabeled question, as a run records them and `flt semievol select` reads them. */
export interface CollaborationRecord {
  id: string;
  question: string;
  options: string[];
  collaborators: RecordedResponse[];
  /** The self-justification, for inconsistent questions only. */
  reflection: RecordedResponse | null;
}

/** Collaborator 1's answer when every answer agrees with it, or null when any disagrees or gives none. */
export function consensus(
  answers: readonly (string | null)[],
  agree: AnswerAgreement = (a, b) => a === b,
): string | null {
  const [first] = answers;
  return first != null && answers.every((a) => a !== null && agree(first, a)) ? first : null;
}

type CollaboratorsOf = Pick<CollaborationRecord, 'options' | 'collaborators'>;

export function collaboratorAnswers(record: CollaboratorsOf, reading: AnswerReading): (string | null)[] {
  return record.collaborators.map((c) => readAnswer(c.response, record.options, reading));
}

const recordConsensus = (record: CollaboratorsOf, reading: AnswerReading) =>
  consensus(collaboratorAnswers(record, reading), answerAgreement(record.options, reading));

/** H: the mean negative log-probability of a response's tokens; null without usable log-probabilities. */
export function responseEntropy(logprobs: readonly (number | null)[] | null): number | null {
  if (!logprobs || logprobs.some((lp) => lp === null || !Number.isFinite(lp))) return null;
  return meanNegativeLogprob(logprobs as number[]);
}

/**
 * The last "Answer:" line, from the marker to the end of its line: the span the answer-span entropy covers. The
 * whole response when it has no marker (a bare letter is all answer).
 */
const lastAnswerLine = /\banswer\s*:[^\n]*/gi;

export function answerSpan(text: string): { start: number; end: number } {
  const matches = [...text.matchAll(lastAnswerLine)];
  const last = matches[matches.length - 1];
  return last ? { start: last.index, end: last.index + last[0].length } : { start: 0, end: text.length };
}

/**
 * H over the tokens that overlap the response's answer span (`answerSpan`); null without usable log-probabilities
 * or without token texts that spell the response.
 */
export function answerSpanEntropy(recorded: RecordedResponse): number | null {
  const { tokens, logprobs } = recorded;
  if (!tokens || !logprobs || tokens.length !== logprobs.length || tokens.join('') !== recorded.response) return null;
  const { start, end } = answerSpan(recorded.response);
  const inSpan: (number | null)[] = [];
  let position = 0;
  tokens.forEach((token, i) => {
    const tokenEnd = position + token.length;
    if (tokenEnd > start && position < end) inSpan.push(logprobs[i]);
    position = tokenEnd;
  });
  return inSpan.length ? responseEntropy(inSpan) : null;
}

export type EntropyOver = SelectionOptions['entropyOver'];

function entropyOf(recorded: RecordedResponse, over: EntropyOver): number | null {
  return over === 'answer-span' ? answerSpanEntropy(recorded) : responseEntropy(recorded.logprobs);
}

/** Why a question has no pseudo-label; `cut-off`: max tokens ended the deciding response before any answer. */
export type DropReason = 'no-answer' | 'cut-off' | 'no-logprobs';

export type PseudoLabel =
  | { id: string; consistent: boolean; label: string; entropy: number }
  | { id: string; consistent: boolean; label: null; dropped: DropReason };
export type LabeledQuestion = Extract<PseudoLabel, { label: string }>;

/** How a run reads its records: the answers (`semievol.answers`) and the tokens H covers. */
export interface RecordReading {
  answers: AnswerReading;
  entropyOver: EntropyOver;
}

/**
 * A consistent question's pseudo-label is collaborator 1's answer, which every other agrees with, its entropy that
 * of collaborator 1's response; an inconsistent one's is the self-justification's answer and entropy. No answer or
 * no usable log-probabilities drops the question (the authors' reading always has an answer, '' at worst).
 */
export function pseudoLabel(record: CollaborationRecord, reading: RecordReading): PseudoLabel {
  const agreed = recordConsensus(record, reading.answers);
  const consistent = agreed !== null;
  const source = consistent ? record.collaborators[0] : record.reflection;
  const label = consistent
    ? agreed
    : record.reflection && readAnswer(record.reflection.response, record.options, reading.answers);
  if (label === null || !source) {
    const dropped = source?.finishReason === 'length' ? 'cut-off' : 'no-answer';
    return { id: record.id, consistent, label: null, dropped };
  }
  const entropy = entropyOf(source, reading.entropyOver);
  if (entropy === null) return { id: record.id, consistent, label: null, dropped: 'no-logprobs' };
  return { id: record.id, consistent, label, entropy };
}

/** Whether the question needs self-justification: its collaborators did not all give the same answer. */
export function isInconsistent(record: CollaboratorsOf, reading: AnswerReading): boolean {
  return recordConsensus(record, reading) === null;
}

/** How tau is set and applied; which tokens H covers is decided earlier, when each pseudo-label is made. */
export type ThresholdOptions = Omit<SelectionOptions, 'entropyOver'>;

export interface Selection {
  /** tau, the entropy threshold; null when no question was thresholded. */
  threshold: number | null;
  selected: LabeledQuestion[];
}

/**
 * Whether a question's entropy is compared with tau at all, or kept as it is (consistent ones, in the authors'
 * variant).
 */
const thresholded = (question: LabeledQuestion, options: ThresholdOptions) =>
  options.among === 'all' || !question.consistent;

/**
 * Adaptive selection: tau is the theta-th percentile (numpy's linear method) of the entropies of the thresholded
 * questions; those at or below tau are kept (strictly below with `strict`), in input order.
 */
export function adaptiveSelection(labels: readonly PseudoLabel[], options: ThresholdOptions): Selection {
  const labeled = labels.filter((l): l is LabeledQuestion => l.label !== null);
  const entropies = labeled.filter((l) => thresholded(l, options)).map((l) => l.entropy);
  const threshold = entropies.length ? percentile(entropies, options.theta) : null;
  const passes = (entropy: number) =>
    threshold !== null && (options.strict ? entropy < threshold : entropy <= threshold);
  return { threshold, selected: labeled.filter((l) => !thresholded(l, options) || passes(l.entropy)) };
}

/** One line of `flt semievol select`'s output. */
export interface SelectedLine {
  id: string;
  pseudo_label: string;
  entropy: number;
  consistent: boolean;
}

export const selectedLine = (question: LabeledQuestion): SelectedLine => ({
  id: question.id,
  pseudo_label: question.label,
  entropy: question.entropy,
  consistent: question.consistent,
});

/** What happened to the unlabeled questions, for reports. */
export interface PseudoLabelCounts {
  questions: number;
  consistent: number;
  pseudoLabeled: number;
  droppedNoAnswer: number;
  /** The deciding response was cut off by max tokens before it gave an answer. */
  droppedCutOff: number;
  droppedNoLogprobs: number;
  selected: number;
}

export function countPseudoLabels(labels: readonly PseudoLabel[], selection: Selection): PseudoLabelCounts {
  const dropped = (reason: DropReason) => labels.filter((l) => l.label === null && l.dropped === reason).length;
  return {
    questions: labels.length,
    consistent: labels.filter((l) => l.consistent).length,
    pseudoLabeled: labels.filter((l) => l.label !== null).length,
    droppedNoAnswer: dropped('no-answer'),
    droppedCutOff: dropped('cut-off'),
    droppedNoLogprobs: dropped('no-logprobs'),
    selected: selection.selected.length,
  };
}
