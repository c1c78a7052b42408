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

/** Answers compare case-insensitively, ignoring spacing and a trailing full stop. */
export function sameAnswer(a: string, b: string): boolean {
  const clean = (text: string) => normalizeText(text).replace(/\.+$/, '');
  return clean(a) === clean(b);
}
