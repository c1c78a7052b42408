// The authors' cut of SELF-GUIDE's evaluation splits (`evaluation.longItems: drop`): they score only items whose
// prompt is at most 3,000 and whose stripped gold output is at most 500 Vicuna tokens. Here both are counted with
// the project's estimate (`overestimateTokens`), not Vicuna's tokenizer, so a few items near a limit fall otherwise.
import {
  overestimateMessageTokens,
  overestimateTokens,
  taskChat,
  type SelfGuideTaskDefinition,
} from './selfguide-prompts';
import type { IoExample } from './types';

export const authorsItemLimits = { promptTokens: 3000, outputTokens: 500 } as const;

/** The items the authors would score, in order, and how many they leave out. */
export function withinAuthorsLimits<T extends IoExample>(
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples'>,
  items: readonly T[],
): { kept: T[]; dropped: number } {
  const kept = items.filter(
    (item) =>
      overestimateMessageTokens(taskChat(task, item.input)) <= authorsItemLimits.promptTokens &&
      overestimateTokens(item.output.trim()) <= authorsItemLimits.outputTokens,
  );
  return { kept, dropped: items.length - kept.length };
}
