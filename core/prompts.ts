// SemiEvol's prompts in the authors' layout: "Question:", lettered "Options:" (none for an open question), and a
// final "Answer: <letter>" (or "Answer: <answer>") line, which is also the exact assistant turn fine-tuning teaches.
import type { ChatMessage, McqItem } from './types';

/**
 * What a prompt asks for: `answer`, the "Answer: <letter>" line alone (the authors' form, and what fine-tuning
 * teaches), or `reasoning`, a brief rationale first.
 */
export type PromptStyle = 'answer' | 'reasoning';

type McqQuestion = Pick<McqItem, 'question' | 'options'>;

/** 0 → "A", 1 → "B", ... Letters stop at "Z", so more than 26 options cannot be lettered. */
export function optionLetter(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 26)
    throw new RangeError(`option index must be an integer in 0..25, got ${i}`);
  return String.fromCharCode(65 + i);
}

/** One "A. text" line per option. */
export function formatOptions(options: readonly string[]): string {
  return options.map((option, i) => `${optionLetter(i)}. ${option}`).join('\n');
}

export function formatMcqQuestion(item: McqQuestion): string {
  return `Question: ${item.question}\nOptions:\n${formatOptions(item.options)}`;
}

const mcqInstructions: Record<PromptStyle, string> = {
  answer:
    'Answer the multiple-choice question with a single line of the form "Answer: <letter>", where <letter> is ' +
    'the letter of the correct option, and write nothing else.',
  reasoning:
    'Answer the multiple-choice question: reason briefly, then end your response with a line of the form ' +
    '"Answer: <letter>", where <letter> is the letter of the correct option.',
};

export const mcqInstruction = (style: PromptStyle): string => mcqInstructions[style];

/** The assistant turn of a training example, and the form every prompt asks the model to end with. */
export function answerTurn(letter: string): string {
  return `Answer: ${letter}`;
}

const openAnswerForm = '"Answer: <answer>", where <answer> is the answer alone: a number without units, or a few words';

const openQuestionInstructions: Record<PromptStyle, string> = {
  answer: `Answer the question with a single line of the form ${openAnswerForm}. Write nothing else.`,
  reasoning: `Answer the question: reason briefly, then end your response with a line of the form ${openAnswerForm}.`,
};

export const openQuestionInstruction = (style: PromptStyle): string => openQuestionInstructions[style];

/** The question as the user turn shows it: with its lettered options, or alone when it is open. */
function formatQuestion(item: McqQuestion): string {
  return item.options.length ? formatMcqQuestion(item) : `Question: ${item.question}`;
}

const instructionFor = (item: McqQuestion, style: PromptStyle): string =>
  item.options.length ? mcqInstruction(style) : openQuestionInstruction(style);

/**
 * The zero-shot prompt; an item without options (an open question, e.g. numeric) is asked as such. Methods other
 * than SemiEvol ask for reasoning.
 */
export function zeroShotMessages(item: McqQuestion, style: PromptStyle = 'reasoning'): ChatMessage[] {
  return [
    { role: 'system', content: instructionFor(item, style) },
    { role: 'user', content: formatQuestion(item) },
  ];
}

function workedExample(demonstration: McqItem): string {
  if (demonstration.answer === null) throw new Error(`demonstration ${demonstration.id} has no answer`);
  return `${formatQuestion(demonstration)}\n${answerTurn(demonstration.answer)}`;
}

/**
 * SemiEvol's in-context propagation: labeled neighbours are shown as worked examples inside the system
 * prompt, and the question itself stays the only user turn, exactly as in the zero-shot prompt.
 */
export function fewShotMessages(
  item: McqQuestion,
  demonstrations: readonly McqItem[],
  style: PromptStyle = 'reasoning',
): ChatMessage[] {
  if (demonstrations.length === 0) return zeroShotMessages(item, style);
  const examples = demonstrations.map(workedExample).join('\n\n');
  const intro = 'Here are some example questions with their correct answers:';
  const system = `${instructionFor(item, style)}\n\n${intro}\n\n${examples}`;
  return [
    { role: 'system', content: system },
    { role: 'user', content: formatQuestion(item) },
  ];
}

export interface TrainingExample {
  messages: ChatMessage[];
}

/** The zero-shot prompt followed by "Answer: <letter>", so the tuned model sees at inference what it was taught on. */
export function trainingExample(item: McqItem, style: PromptStyle = 'reasoning'): TrainingExample {
  if (item.answer === null) throw new Error(`item ${item.id} has no answer to train on`);
  return { messages: [...zeroShotMessages(item, style), { role: 'assistant', content: answerTurn(item.answer) }] };
}

/**
 * One collaborator's verdict as the self-justification prompt shows it: the extracted letter (or open answer) and
 * the whole response.
 */
export interface CollaboratorAnswer {
  answer: string | null;
  response: string;
}

/**
 * SemiEvol's self-justification: the question and its lettered options (if any) come first, exactly as in the
 * zero-shot prompt, then every collaborator's answer with its reasoning; the model gives the final answer.
 */
export function justificationMessages(
  item: McqQuestion,
  answers: readonly CollaboratorAnswer[],
  style: PromptStyle = 'reasoning',
): ChatMessage[] {
  const none = item.options.length ? '(no option letter)' : '(no answer)';
  const listed = answers
    .map((a, i) => `Answer ${i + 1}: ${a.answer ?? none}\nReasoning: ${a.response.trim()}`)
    .join('\n\n');
  const user =
    `${formatQuestion(item)}\n\nSeveral attempts at this question disagree. ` +
    `Their answers and reasoning:\n\n${listed}\n\nConsider them carefully and give the correct answer.`;
  return [
    { role: 'system', content: instructionFor(item, style) },
    { role: 'user', content: user },
  ];
}
