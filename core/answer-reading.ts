// How a SemiEvol run reads answers out of responses, decides two agree and scores them against gold: this project's
// way (`ours`) or the authors' code's (`authors`). Every stage goes through these, so none can mix the two.
import { extractAnswer, readNumber } from './answers';
import {
  authorsAnswer,
  authorsFuzzyMatch,
  authorsNumbers,
  authorsNumbersMatch,
  authorsPackedAnswer,
} from './authors-answers';
import { answerMatches, openAnswersAgree, type Metric } from './metrics';

/** `semievol.answers`: this project's answer handling, or the authors' exactly. */
export type AnswerReading = 'ours' | 'authors';

/**
 * The answer a response gives, or null when it gives none. `authors`: the first token after "Answer:" verbatim, ''
 * without one, for any question (so never null).
 */
export function readAnswer(response: string, options: readonly string[], reading: AnswerReading): string | null {
  return reading === 'authors' ? authorsAnswer(response) : extractAnswer(response, options);
}

/** Whether two answers to one question agree. */
export type AnswerAgreement = (a: string, b: string) => boolean;

const sameText: AnswerAgreement = (a, b) => a === b;

/**
 * `ours`: equal option letters, or open answers that agree (`openAnswersAgree`). `authors`: equal strings, as their
 * `len(set(answers)) == 1`, so "C." and "C" disagree and two '' agree.
 */
export function answerAgreement(options: readonly string[], reading: AnswerReading): AnswerAgreement {
  return reading === 'authors' || options.length ? sameText : openAnswersAgree;
}

/**
 * Whether a read answer is right by the metric. `authors`, as their check functions: the same string for a letter;
 * any number in the answer within 1% of any in the gold (`check_answer_value`); text by `fuzzy_match`.
 */
export function answerIsCorrect(
  prediction: string | null,
  gold: string,
  metric: Metric,
  reading: AnswerReading,
): boolean {
  if (reading === 'ours' || prediction === null) return answerMatches(prediction, gold, metric);
  if (metric === 'option-letter') return prediction === gold;
  if (metric === 'number') return authorsNumbersMatch(authorsNumbers(prediction), authorsNumbers(gold));
  return authorsFuzzyMatch(prediction, gold);
}

/** Whether a gold answer can be scored by `number`: one number (`ours`), or holding any (`authors`). */
export function goldIsNumeric(gold: string, reading: AnswerReading): boolean {
  return reading === 'authors' ? authorsNumbers(gold).length > 0 : readNumber(gold) !== null;
}

/** The item with its training answer: as given (`ours`), or as the authors' `pack_answer` packs it. */
export function withTrainingAnswer<T extends { answer: string | null }>(item: T, reading: AnswerReading): T {
  return reading === 'authors' && item.answer !== null ? { ...item, answer: authorsPackedAnswer(item.answer) } : item;
}
