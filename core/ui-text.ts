// Text the Temporal UI renders as Markdown (a run's static details, its current details): written as Markdown on
// purpose. Dollar signs would pair up into LaTeX there, so money reads "USD 0.3074"; lines are a list, so they do not
// run together into one paragraph.

/** An amount of money for Markdown: "USD 0.0214" under a dollar, "USD 12.50" above. */
export const usdText = (usd: number): string => `USD ${usd.toFixed(usd < 1 ? 4 : 2)}`;

/** Lines as a Markdown list, one item each. */
export const markdownList = (lines: readonly string[]): string => lines.map((line) => `- ${line}`).join('\n');
