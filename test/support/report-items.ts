// Items for the tests of the report's item browser: SemiEvol questions and SELF-GUIDE inputs with every verdict and
// recorded reason, one of them carrying text that would end or bend the page's <script> if embedded carelessly.
import type { SelfGuideItem, SemievolItem } from '../../lib/show-items';

/** Ends a script element, opens another, and opens a comment: it must reach the page as text. */
export const hostileText = 'tail </script><script>document.title = "broken"</script> <!-- <script> and <b>bold</b>';

const companies = ['Nokia', 'Kone', 'Fiskars'];
const semievolReasons = ['no-answer', 'cut-off', 'no-logprobs'] as const;

/** `count` SemiEvol questions: every tenth has no pseudo-label, the first 30 labeled ones are selected. */
export function semievolReportItems(count: number): SemievolItem[] {
  return Array.from({ length: count }, (_, i) => {
    const consistent = i % 2 === 0;
    const letter = consistent ? 'A' : 'B';
    const item: SemievolItem = {
      number: i + 1,
      id: `q${i + 1}`,
      question: `Does headline ${i + 1} mean good news for ${companies[i % 3]}?${i === 7 ? ` ${hostileText}` : ''}`,
      options: ['positive', 'negative', 'neutral'],
      collaborators: [
        { model: 'M_warm', examples: 2, answer: 'A', response: 'Answer: A' },
        { model: 'M_base', examples: 0, answer: letter, response: `Answer: ${letter}` },
      ],
      consistent,
      justification: consistent ? null : { response: 'Sales fell, so it is bad news. Answer: B', answer: 'B' },
      pseudoLabel:
        i % 10 === 9
          ? { label: null, dropped: semievolReasons[Math.floor(i / 10) % 3] }
          : { label: letter, entropy: 0.05 + 0.02 * i },
      selected: i % 10 !== 9 && i < 30,
    };
    if (i % 4 === 0) item.gold = 'A';
    return item;
  });
}

const inputReasons = ['empty', 'noise', 'length', 'duplicate'] as const;
const voteReasons = ['no-majority', 'not-a-label', 'balancing'] as const;

/** `count` SELF-GUIDE inputs: every eighth removed by a filter, every fifth kept one left without a pair. */
export function selfGuideReportItems(count: number): SelfGuideItem[] {
  return Array.from({ length: count }, (_, i) => {
    const item: SelfGuideItem = {
      number: i + 1,
      input: `Sentence ${i + 1} on ${['markets', 'weather', 'sports'][i % 3]}.${i === 3 ? ` ${hostileText}` : ''}`,
      round: Math.floor(i / 10) + 1,
    };
    if (i % 8 === 7) {
      item.filter = { kept: false, reason: inputReasons[Math.floor(i / 8) % 4] };
      return item;
    }
    item.filter = { kept: true, reason: null };
    const dropped = i % 5 === 0 ? voteReasons[Math.floor(i / 5) % 3] : null;
    item.annotation = {
      samples: 10,
      votes: [
        { answer: 'E', count: 6 },
        { answer: 'C', count: 3 },
      ],
      kept: dropped ? null : 'E',
      dropped,
    };
    return item;
  });
}
