// SemiEvol's prompts: "Question:", lettered "Options:" (none for an open question), and a final "Answer: <letter>"
// (or "Answer: <answer>") line, which is also the exact assistant turn fine-tuning teaches. Two layouts: ours, with
// the instruction as system message, and the authors' code's, with it in the user turn.
import type { ChatMessage, McqItem } from './types';

/**
 * What a prompt asks for: `answer`, the "Answer: <letter>" line alone (the authors' form, and what fine-tuning
 * teaches), or `reasoning`, a brief rationale first.
 */
export type PromptStyle = 'answer' | 'reasoning';

/**
 * `semievol.promptLayout`: ours, or the authors' (one user turn: the instruction, then "Question: " with the question
 * on its own line and the options after a blank line; few-shot examples as `Example i:` blocks in the system prompt;
 * training examples without a system message). The instructions' wording is ours in both.
 */
export type PromptLayout = 'ours' | 'authors';

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

/** The options block of the authors' layout: "Options:", a line per option, and the line break after the last. */
const authorsOptions = (item: McqQuestion): string =>
  item.options.length ? `Options:\n${formatOptions(item.options)}\n` : '';

/** The authors' user turn: the instruction, then "Question: " and the question on the next line, then the options. */
function authorsUserTurn(item: McqQuestion, style: PromptStyle): string {
  return `${instructionFor(item, style)}\n\nQuestion: \n${item.question}\n\n${authorsOptions(item)}`;
}

/**
 * The zero-shot prompt; an item without options (an open question, e.g. numeric) is asked as such. Methods other
 * than SemiEvol ask for reasoning.
 */
export function zeroShotMessages(
  item: McqQuestion,
  style: PromptStyle = 'reasoning',
  layout: PromptLayout = 'ours',
): ChatMessage[] {
  if (layout === 'authors') return [{ role: 'user', content: authorsUserTurn(item, style) }];
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
  layout: PromptLayout = 'ours',
): ChatMessage[] {
  if (demonstrations.length === 0) return zeroShotMessages(item, style, layout);
  if (layout === 'authors') return authorsFewShotMessages(item, demonstrations, style);
  const examples = demonstrations.map(workedExample).join('\n\n');
  const intro = 'Here are some example questions with their correct answers:';
  const system = `${instructionFor(item, style)}\n\n${intro}\n\n${examples}`;
  return [
    { role: 'system', content: system },
    { role: 'user', content: formatQuestion(item) },
  ];
}

const authorsFewShotIntro = (item: McqQuestion) =>
  `You are skilled at ${item.options.length ? 'multiple-choice questions' : 'answering questions'}. ` +
  'Some example questions follow, each with its correct answer.';

/** One `Example i:` block as the authors' system prompt lists it, each followed by a blank line. */
function authorsExample(demonstration: McqItem, index: number): string {
  if (demonstration.answer === null) throw new Error(`demonstration ${demonstration.id} has no answer`);
  const question = `Question: ${demonstration.question}\n${authorsOptions(demonstration)}`;
  return `Example ${index + 1}:\n${question}${answerTurn(demonstration.answer)}\n\n`;
}

/** The authors' few-shot prompt: an introduction and the examples as system prompt, the question as user turn. */
function authorsFewShotMessages(
  item: McqQuestion,
  demonstrations: readonly McqItem[],
  style: PromptStyle,
): ChatMessage[] {
  return [
    { role: 'system', content: `${authorsFewShotIntro(item)}\n\n${demonstrations.map(authorsExample).join('')}` },
    { role: 'user', content: authorsUserTurn(item, style) },
  ];
}

export interface TrainingExample {
  messages: ChatMessage[];
}

/** The zero-shot prompt followed by "Answer: <letter>", so the tuned model sees at inference what it was taught on. */
export function trainingExample(
  item: McqItem,
  style: PromptStyle = 'reasoning',
  layout: PromptLayout = 'ours',
): TrainingExample {
  if (item.answer === null) throw new Error(`item ${item.id} has no answer to train on`);
  const prompt = zeroShotMessages(item, style, layout);
  return { messages: [...prompt, { role: 'assistant', content: answerTurn(item.answer) }] };
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
 * zero-shot prompt, then every collaborator's answer with its reasoning; the model gives the final answer. The
 * authors' layout builds their prompt instead (`authorsJustificationMessages`).
 */
export function justificationMessages(
  item: McqQuestion,
  answers: readonly CollaboratorAnswer[],
  style: PromptStyle = 'reasoning',
  layout: PromptLayout = 'ours',
): ChatMessage[] {
  if (layout === 'authors') return authorsJustificationMessages(item, answers, style);
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

/**
 * A list of strings as Python's `json.dumps` writes it (", " between items, everything outside printable ASCII
 * escaped): the form of the options column in the authors' CSV files, which their justification prompt shows as is.
 */
export function pythonJsonList(values: readonly string[]): string {
  const escaped = values.map((value) =>
    JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
  );
  return `[${escaped.join(', ')}]`;
}

/**
 * The authors' self-justification prompt (`format_reflection`), one user turn: an opening that asks to weigh the
 * answers, then "Question: " with the question on its own line, the options as the raw list their CSV holds, the
 * collaborators' whole responses one after another under "Multiple Answers:", and a closing request for the final
 * answer. The opening and closing are in our words, with our instruction for the answer's form; an open question has
 * no options block (theirs would show the missing column).
 */
function authorsJustificationMessages(
  item: McqQuestion,
  answers: readonly CollaboratorAnswer[],
  style: PromptStyle,
): ChatMessage[] {
  const kind = item.options.length ? 'multiple-choice question' : 'question';
  const opening =
    `Below are several answers to one ${kind}. Weigh them carefully and work out the correct answer. ` +
    instructionFor(item, style);
  const options = item.options.length ? `Options:\n${pythonJsonList(item.options)}\n\n` : '';
  const responses = answers.map((a) => a.response).join('\n');
  const content =
    `${opening}\n\nQuestion: \n${item.question}\n\n${options}Multiple Answers:\n${responses}\n\n` +
    'Give the final correct answer now:\n';
  return [{ role: 'user', content }];
}
