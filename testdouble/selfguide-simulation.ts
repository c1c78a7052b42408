// A task-aware simulated model for SELF-GUIDE: it writes plausible task inputs when asked for one (recombining the
// example inputs in the prompt, sometimes with the flaws SELF-GUIDE's filters exist for), answers task chats like a
// model of the configured accuracy, and grades SELF-GUIDE training files so that more and cleaner data trains better.
import { GoldIndex, normalizeText, type PromptMessage } from './gold-index';
import { unitHash } from './hashing';
import type { ResolvedModel } from './model-registry';

/** The opening of the project's input-generation prompt (core/selfguide-prompts.ts). */
const generationOpening = 'As an input generator, write one new [input] for the task below.';
const chatbotPhrase = "Sure, I'd be happy to help!";
/** Probability a sample is correct when the model knows the input (as for gold questions). */
const knownConfidence = 0.9;
/** Training examples at which a fine-tune gets half of its data's full effect. */
const halfEffectExamples = 16;

const quotedInputs = (section: string) =>
  [...section.matchAll(/\[input\]="([\s\S]*?)"(?=\n\n|\n?$)/g)].map((m) => m[1]);

function generationSections(prompt: string): { gold: string[]; library: string[] } | null {
  if (!prompt.startsWith(generationOpening)) return null;
  const [, afterGold = ''] = prompt.split('Follow their format very strictly:');
  const [gold, library = ''] = afterGold.split('Additional example inputs.');
  return { gold: quotedInputs(gold), library: quotedInputs(library.split('\n\nWrite a new [input]')[0]) };
}

/**
 * A new input for a generation prompt: usually the start of one example joined to the end of another (cut at the same
 * relative point); sometimes (more often at higher temperature) empty, chatbot talk, a copy of a gold example, or far
 * too long.
 */
export function simulatedInput(messages: PromptMessage[], temperature: number, random: () => number): string | null {
  const last = messages[messages.length - 1];
  const sections = last?.role === 'user' ? generationSections(last.content) : null;
  if (!sections || sections.gold.length === 0) return null;
  const pick = (list: string[]) => list[Math.floor(random() * list.length)];
  const sources = [...sections.gold, ...sections.gold, ...sections.library];
  const [a, b] = [pick(sources).split(' '), pick(sources).split(' ')];
  // Cutting both at the same relative point keeps the length between the two examples'.
  const cut = random();
  const recombined = [
    ...a.slice(0, Math.max(1, Math.round(cut * a.length))),
    ...b.slice(Math.round(cut * b.length)),
  ].join(' ');
  const flaw = random() / Math.max(0.3, temperature / 0.7);
  if (flaw < 0.04) return '';
  if (flaw < 0.1) return `${chatbotPhrase} ${recombined}`;
  if (flaw < 0.16) return pick(sections.gold);
  if (flaw < 0.22) return Array(4).fill(recombined).join(' ');
  return recombined;
}

interface TaskChat {
  examples: { input: string; output: string }[];
  input: string;
}

/**
 * A SELF-GUIDE task chat: a system instruction, example turns, the new input; SemiEvol's "Question:" prompts are
 * not.
 */
function parseTaskChat(messages: PromptMessage[]): TaskChat | null {
  if (messages.length < 4 || messages[0].role !== 'system' || messages[messages.length - 1].role !== 'user')
    return null;
  const turns = messages.slice(1, -1);
  if (turns.length % 2 !== 0 || turns.some((m, i) => m.role !== (i % 2 === 0 ? 'user' : 'assistant'))) return null;
  const input = messages[messages.length - 1].content;
  if (/(^|\n)\s*Question:/.test(input)) return null;
  const examples = Array.from({ length: turns.length / 2 }, (_, i) => ({
    input: turns[2 * i].content,
    output: turns[2 * i + 1].content,
  }));
  return { examples, input };
}

/** Example outputs that are all single words look like labels. */
function labelsOf(chat: TaskChat): string[] | null {
  const outputs = chat.examples.map((e) => e.output.trim());
  return outputs.every((o) => /^\S{1,20}$/.test(o)) ? [...new Set(outputs)].sort() : null;
}

const contentWords = (text: string) => text.match(/\p{L}{4,}/gu) ?? [];

/** What a perfect model would answer: an example's own output, the gold answer, or a deterministic stand-in. */
function truthOf(chat: TaskChat, gold: GoldIndex): string {
  const example = chat.examples.find((e) => normalizeText(e.input) === normalizeText(chat.input));
  if (example) return example.output;
  const known = gold.find([{ role: 'user', content: chat.input }]);
  if (known) return known.item.answer;
  const labels = labelsOf(chat);
  if (labels) return labels[Math.floor(unitHash('truth', normalizeText(chat.input)) * labels.length)];
  return `${contentWords(chat.input).slice(0, 3).join(' ').toLowerCase()}.`;
}

function wrongAnswer(chat: TaskChat, truth: string, salt: string): string {
  const labels = labelsOf(chat)?.filter((l) => l !== truth);
  if (labels?.length) return labels[Math.floor(unitHash('wrong', salt) * labels.length)];
  const example = chat.examples[Math.floor(unitHash('wrong', salt) * chat.examples.length)];
  return `${contentWords(chat.input)[0]?.toLowerCase() ?? 'it'} ${example.output}`;
}

/** An answer to a task chat, or null when the prompt is not one. Greedy answers are right exactly for known inputs. */
export function simulatedChatAnswer(
  messages: PromptMessage[],
  model: ResolvedModel,
  gold: GoldIndex,
  temperature: number,
  random: () => number,
): string | null {
  const chat = parseTaskChat(messages);
  if (!chat) return null;
  const truth = truthOf(chat, gold);
  const key = normalizeText(chat.input);
  const known = unitHash('known', model.root, key) < model.accuracy;
  const wrong = wrongAnswer(chat, truth, `${model.root}|${key}`);
  if (temperature === 0) return known ? truth : wrong;
  const correctProbability = known ? knownConfidence : 0.5;
  return random() < correctProbability ? truth : wrong;
}

/**
 * The share of a SELF-GUIDE training file's examples that are clean (no chatbot talk) and correctly answered,
 * shrunk towards 0.5 for small files; null when the file is not made of task chats.
 */
export function selfGuideTrainingShare(examples: { messages: PromptMessage[] }[], gold: GoldIndex): number | null {
  const graded = examples.map(({ messages }) => {
    const chat = parseTaskChat(messages.slice(0, -1));
    const answer = messages[messages.length - 1];
    if (!chat || answer.role !== 'assistant') return null;
    return !chat.input.includes(chatbotPhrase) && normalizeText(answer.content) === normalizeText(truthOf(chat, gold));
  });
  if (graded.length === 0 || graded.some((g) => g === null)) return null;
  const share = graded.filter(Boolean).length / graded.length;
  return 0.5 + (share - 0.5) * (graded.length / (graded.length + halfEffectExamples));
}
