// Writing an answer into a response with the configured answerFormat, and reading one back out.
import { normalizeText } from './gold-index';

export function formatAnswer(format: string, choice: string): string {
  return format.replace('{choice}', choice);
}

/** Offset of the choice within `formatAnswer(format, choice)`. */
export function choiceOffset(format: string): number {
  return format.indexOf('{choice}');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s*');
}

/** The `{choice}` of the last answerFormat match in `content`, or the whole content trimmed when there is none. */
export function extractAnswer(format: string, content: string): string {
  const [before, after = ''] = format.split('{choice}');
  const pattern = new RegExp(`${escapeRegExp(before)}(.+?)${escapeRegExp(after)}\\s*$`, 'gm');
  let last: string | undefined;
  for (const match of content.matchAll(pattern)) last = match[1];
  return (last ?? content).trim();
}

/** A number as datasets write one ("-3", "$5,170.00", "628,660", "25%", "3."), else null. */
export function numericValue(text: string): number | null {
  const match = /^(-?)\$?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(%?)\.?$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[2].replace(/,/g, '')) * (match[1] ? -1 : 1);
  return match[3] ? value / 100 : value;
}

/**
 * Wrong answers to an open numeric question: numbers far (over 20%) from the gold's value, so no tolerance a grader
 * applies takes them for it.
 */
export function numericDistractors(value: number): string[] {
  const round = (x: number) => String(Math.round(x * 100) / 100);
  return [round(value + Math.max(1, 0.5 * Math.abs(value))), round(value - Math.max(1, 0.3 * Math.abs(value)))];
}

/** Answers compare case-insensitively, ignoring spacing and a trailing full stop; numbers compare by value. */
export function sameAnswer(a: string, b: string): boolean {
  const [x, y] = [numericValue(a), numericValue(b)];
  if (x !== null && y !== null) return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  const clean = (text: string) => normalizeText(text).replace(/\.+$/, '');
  return clean(a) === clean(b);
}
