// The gold answers the simulated model is graded against, indexed by normalized question text so a
// request's question is found in O(1) even with 100,000 items.

/**
 * Multiple choice: `choices` are option letters and `answer` the gold letter. Classification: `choices` are the labels.
 */
export interface GoldItem {
  question: string;
  answer: string;
  choices?: string[];
}

export interface PromptMessage {
  role: string;
  content: string;
}

/** A gold item found for a request, with the key its "known" bit is hashed from. */
export interface GoldMatch {
  item: GoldItem;
  key: string;
}

export function normalizeText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

const optionLinePattern = /^\s*\(?([A-J])[.)](?:\s|$)/;
const stemEndPattern = /^\s*(?:options|choices|answer)\s*:/i;

/**
 * The question part of a text: from its first non-blank line up to a blank line, an option line ("A." / "A)"),
 * "Options:" or "Answer:".
 */
export function questionStem(text: string): string {
  const lines = text.split(/\r?\n/);
  let start = 0;
  while (start < lines.length && lines[start].trim() === '') start++;
  const stem: string[] = [];
  for (const line of lines.slice(start)) {
    if (line.trim() === '' || optionLinePattern.test(line) || stemEndPattern.test(line)) break;
    stem.push(line);
  }
  return stem.join('\n');
}

/** Letters of the lettered options ("A. ...", "B) ...") listed in a text, in order, without repeats. */
export function optionLetters(text: string): string[] {
  const letters: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const letter = optionLinePattern.exec(line)?.[1];
    if (letter && !letters.includes(letter)) letters.push(letter);
  }
  return letters;
}

export function lastUserMessage(messages: PromptMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') return messages[i].content;
  }
  return '';
}

export class GoldIndex {
  private readonly byQuestion = new Map<string, GoldItem>();
  private readonly byStem = new Map<string, GoldItem>();

  get size(): number {
    return this.byQuestion.size;
  }

  /** Later items replace earlier ones with the same question. */
  add(items: GoldItem[]): void {
    for (const item of items) {
      this.byQuestion.set(normalizeText(item.question), item);
      // Gold questions that embed their options are also found by their stem alone.
      const stem = normalizeText(questionStem(item.question));
      if (stem) this.byStem.set(stem, item);
    }
  }

  clear(): void {
    this.byQuestion.clear();
    this.byStem.clear();
  }

  /** The question is the stem after the last "Question:" of the last user message, else that whole message. */
  find(messages: PromptMessage[]): GoldMatch | undefined {
    const text = lastUserMessage(messages);
    const marker = text.lastIndexOf('Question:');
    const candidates = [normalizeText(text)];
    if (marker >= 0) candidates.unshift(normalizeText(questionStem(text.slice(marker + 'Question:'.length))));
    for (const candidate of candidates) {
      const item = this.byQuestion.get(candidate) ?? this.byStem.get(candidate);
      if (item) return { item, key: normalizeText(item.question) };
    }
    return undefined;
  }
}

/** Checks untrusted gold items; throws naming the first bad one. */
export function parseGoldItems(values: unknown[], source = 'items'): GoldItem[] {
  return values.map((value, index) => {
    const item = value as Partial<GoldItem> | null;
    const valid =
      typeof item === 'object' &&
      item !== null &&
      typeof item.question === 'string' &&
      item.question.trim() !== '' &&
      typeof item.answer === 'string' &&
      (item.choices === undefined || (Array.isArray(item.choices) && item.choices.every((c) => typeof c === 'string')));
    if (!valid) throw new Error(`${source}[${index}] must be {question: string, answer: string, choices?: string[]}`);
    return item.choices
      ? { question: item.question!, answer: item.answer!, choices: item.choices }
      : { question: item.question!, answer: item.answer! };
  });
}

export function parseGoldJsonl(text: string, source: string): GoldItem[] {
  const values = text
    .split(/\r?\n/)
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, index }) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`${source}: line ${index + 1} is not valid JSON`);
      }
    });
  return parseGoldItems(values, source);
}
