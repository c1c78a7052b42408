// The simulated model: answers gold questions with a per-model accuracy, samples like a real model
// at temperature > 0, and returns log-probabilities that carry a confidence signal.
import { choiceOffset, formatAnswer, numericDistractors, numericValue, sameAnswer } from './answer-format';
import { GoldIndex, lastUserMessage, normalizeText, optionLetters, type PromptMessage } from './gold-index';
import { textSeededRandom, sha256Hex, unitHash, unseededRandom } from './hashing';
import type { ResolvedModel } from './model-registry';
import { simulatedChatAnswer, simulatedInput } from './selfguide-simulation';
import { tokenize } from './tokenizer';

/** Probability a sample is correct when the model knows the question. */
const knownConfidence = 0.9;

export interface CompletionRequest {
  model: ResolvedModel;
  messages: PromptMessage[];
  temperature: number;
  n: number;
  seed?: number;
  maxTokens?: number;
  stop: string[];
  topLogprobs: number;
}

export interface TopLogprob {
  token: string;
  logprob: number;
}

export interface TokenLogprob extends TopLogprob {
  top: TopLogprob[];
}

export interface SimulatedChoice {
  text: string;
  tokens: TokenLogprob[];
  finishReason: 'stop' | 'length';
}

/** What the model believes about one prompt: the answer options, their probabilities and its greedy pick. */
interface AnswerPlan {
  choices: string[];
  probs: number[];
  greedy: number;
  /** Stable identity of the question, for deterministic wording. */
  key: string;
  topic: string;
}

function topicOf(text: string): string {
  const words = text.toLowerCase().match(/[\p{L}]{4,}/gu) ?? [];
  return words.reduce((longest, word) => (word.length > longest.length ? word : longest), '') || 'the details';
}

/**
 * An open question's candidate answers, the gold first: other numbers for a numeric gold, else a negated text. The
 * gold number is spelled as the gold writes it or plainly ("$5,170.00" or "5170"), by model and question, so
 * models that agree do not always write the same thing.
 */
function openChoices(answer: string, model: string, key: string): string[] {
  const value = numericValue(answer);
  if (value === null) return [answer, `not ${answer}`];
  const spelled = unitHash('spelling', model, key) < 0.5 ? answer : String(value);
  return [spelled, ...numericDistractors(value)];
}

function goldPlan(gold: GoldIndex, request: CompletionRequest): AnswerPlan | undefined {
  const match = gold.find(request.messages);
  if (!match) return undefined;
  const { item, key } = match;
  const letters = optionLetters(lastUserMessage(request.messages));
  const choices = item.choices?.length
    ? [...item.choices]
    : letters.length >= 2
      ? letters
      : openChoices(item.answer, request.model.name, key);
  let correct = choices.findIndex((choice) => sameAnswer(choice, item.answer));
  if (correct < 0) correct = choices.push(item.answer) - 1;
  const k = choices.length;
  const { root, accuracy } = request.model;
  const known = unitHash('known', root, key) < accuracy;
  const topic = topicOf(item.question);
  if (k === 1) return { choices, probs: [1], greedy: 0, key, topic };
  if (known) {
    const probs = choices.map((_, i) => (i === correct ? knownConfidence : (1 - knownConfidence) / (k - 1)));
    return { choices, probs, greedy: correct, key, topic };
  }
  const wrong = choices.map((_, i) => i).filter((i) => i !== correct);
  const greedy = wrong[Math.floor(unitHash('wrong', root, key) * wrong.length)];
  return { choices, probs: choices.map(() => 1 / k), greedy, key, topic };
}

/** A question not in gold that lists lettered options still gets a (deterministic, uninformed) letter. */
function guessPlan(request: CompletionRequest): AnswerPlan | undefined {
  const text = lastUserMessage(request.messages);
  const letters = optionLetters(text);
  if (letters.length < 2) return undefined;
  const key = normalizeText(text);
  const greedy = Math.floor(unitHash('guess', request.model.root, key) * letters.length);
  return { choices: letters, probs: letters.map(() => 1 / letters.length), greedy, key, topic: topicOf(text) };
}

function rationale(plan: AnswerPlan, choice: string): string {
  const templates = [
    `The question turns on ${plan.topic}.`,
    `Weighing each option against ${plan.topic} points one way.`,
    `The key detail here is ${plan.topic}.`,
    `Reading closely, ${plan.topic} settles it.`,
  ];
  return templates[Math.floor(unitHash('rationale', plan.key, choice) * templates.length)];
}

/** Rationale tokens: small negative logprobs, more negative when the model is unsure of its answer. */
function fillerLogprob(confidence: number, ...noiseParts: (string | number)[]): number {
  return -(0.02 + 0.25 * unitHash('token', ...noiseParts)) * (1 + 2 * (1 - confidence));
}

/**
 * A prompt that asks for the answer line and "nothing else", in its system message or (the SemiEvol authors' layout)
 * its user turn, gets that line alone, as a real model following the instruction would; any other gets a rationale
 * first.
 */
export function asksForAnswerOnly(messages: readonly PromptMessage[]): boolean {
  return messages.some((m) => (m.role === 'system' || m.role === 'user') && /\bnothing else\b/i.test(m.content));
}

function answeredChoice(
  plan: AnswerPlan,
  index: number,
  format: string,
  topLogprobs: number,
  answerOnly: boolean,
): { text: string; tokens: TokenLogprob[] } {
  const choice = plan.choices[index];
  const confidence = plan.probs[index];
  const lead = answerOnly ? '' : `${rationale(plan, choice)} `;
  const text = `${lead}${formatAnswer(format, choice)}`;
  const answerStart = lead.length + choiceOffset(format);
  const answerEnd = answerStart + choice.length;
  const tokens: TokenLogprob[] = [];
  let position = 0;
  let answerSeen = false;
  for (const token of tokenize(text)) {
    const end = position + token.length;
    let logprob: number;
    let top: TopLogprob[] | undefined;
    if (!answerSeen && end > answerStart) {
      answerSeen = true;
      logprob = Math.log(confidence);
      top = alternatives(plan, text.slice(position, answerStart), topLogprobs);
    } else if (answerSeen && position < answerEnd) {
      logprob = -0.0005 * (1 + unitHash('token', text, position));
    } else {
      logprob = fillerLogprob(confidence, text, position);
    }
    tokens.push({ token, logprob, top: top ?? [{ token, logprob }].slice(0, topLogprobs) });
    position = end;
  }
  return { text, tokens };
}

/** The answer token's alternatives: each choice's first token after the same prefix, most likely first. */
function alternatives(plan: AnswerPlan, prefix: string, limit: number): TopLogprob[] {
  const best = new Map<string, number>();
  plan.choices.forEach((choice, i) => {
    const token = prefix + (tokenize(choice)[0] ?? choice);
    best.set(token, Math.max(best.get(token) ?? -Infinity, Math.log(plan.probs[i])));
  });
  return [...best]
    .map(([token, logprob]) => ({ token, logprob }))
    .sort((a, b) => b.logprob - a.logprob)
    .slice(0, limit);
}

/** Text without an answer to grade: filler log-probabilities throughout. */
function plainChoice(text: string, topLogprobs: number): { text: string; tokens: TokenLogprob[] } {
  let position = 0;
  const tokens = tokenize(text).map((token) => {
    const logprob = fillerLogprob(0.5, text, position);
    position += token.length;
    return { token, logprob, top: [{ token, logprob }].slice(0, topLogprobs) };
  });
  return { text, tokens };
}

function genericChoice(request: CompletionRequest): { text: string; tokens: TokenLogprob[] } {
  return plainChoice(
    `Simulated response ${sha256Hex(request.model.name + JSON.stringify(request.messages)).slice(0, 8)}.`,
    request.topLogprobs,
  );
}

/** SELF-GUIDE prompts (selfguide-simulation.ts): a new task input, or an answer to a task chat; null for others. */
function selfGuideText(request: CompletionRequest, gold: GoldIndex, random: () => number): string | null {
  return (
    simulatedInput(request.messages, request.temperature, random) ??
    simulatedChatAnswer(request.messages, request.model, gold, request.temperature, random)
  );
}

function pick(probs: number[], random: number): number {
  let cumulative = 0;
  for (let i = 0; i < probs.length; i++) {
    cumulative += probs[i];
    if (random < cumulative) return i;
  }
  return probs.length - 1;
}

/** Applies `stop` (cut before the earliest stop string) then `max_tokens` (finish_reason "length"). */
function truncate(tokens: TokenLogprob[], stop: string[], maxTokens: number | undefined): SimulatedChoice {
  const full = tokens.map((t) => t.token).join('');
  const cut = Math.min(
    ...stop
      .filter((s) => s !== '')
      .map((s) => full.indexOf(s))
      .filter((i) => i >= 0),
    full.length,
  );
  let kept: TokenLogprob[] = [];
  let position = 0;
  for (const token of tokens) {
    if (position >= cut) break;
    kept.push(position + token.token.length <= cut ? token : { ...token, token: token.token.slice(0, cut - position) });
    position += token.token.length;
  }
  let finishReason: SimulatedChoice['finishReason'] = 'stop';
  if (maxTokens !== undefined && kept.length > maxTokens) {
    kept = kept.slice(0, maxTokens);
    finishReason = 'length';
  }
  return { text: kept.map((t) => t.token).join(''), tokens: kept, finishReason };
}

/** A response that declines in words: `text` for every sample, with filler log-probabilities. */
export function declinedCompletion(request: CompletionRequest, text: string): SimulatedChoice[] {
  const { tokens } = plainChoice(text, request.topLogprobs);
  return Array.from({ length: request.n }, () => truncate(tokens, request.stop, request.maxTokens));
}

export function simulateCompletion(
  request: CompletionRequest,
  gold: GoldIndex,
  answerFormat: string,
): SimulatedChoice[] {
  const plan = goldPlan(gold, request) ?? guessPlan(request);
  return Array.from({ length: request.n }, (_, sample) => {
    const sampleRandom = () =>
      request.seed === undefined
        ? unseededRandom()
        : textSeededRandom(`${request.seed}|${request.model.name}|${JSON.stringify(request.messages)}|${sample}`);
    const selfGuide = selfGuideText(request, gold, sampleRandom());
    if (selfGuide !== null) {
      const { tokens } = plainChoice(selfGuide, request.topLogprobs);
      return truncate(tokens, request.stop, request.maxTokens);
    }
    let generated: { text: string; tokens: TokenLogprob[] };
    if (!plan) {
      generated = genericChoice(request);
    } else {
      let index = plan.greedy;
      if (request.temperature > 0) index = pick(plan.probs, sampleRandom()());
      generated = answeredChoice(plan, index, answerFormat, request.topLogprobs, asksForAnswerOnly(request.messages));
    }
    return truncate(generated.tokens, request.stop, request.maxTokens);
  });
}
