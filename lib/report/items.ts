// The report's item browser: a run's items as `flt show` writes them (lib/show-items.ts), carried in the page as
// JSON and searched, filtered and paged there by one small inline script with `flt show`'s own filters. Without
// script the page shows the first page, rendered here, and says how to see the rest.
import {
  filterItems,
  isSelected,
  itemBlock,
  reasonOf,
  recordedReasons,
  searchedText,
  type ShownItem,
  type ShownMethod,
} from '../show-items';
import { escapeXml } from './charts';

/** One run's items, as `flt show` reads them from its artifacts after its last item stage. */
export interface RunItems {
  method: ShownMethod;
  runId: string;
  task: string;
  items: ShownItem[];
}

export const itemsPerPage = 50;

/**
 * The most characters of one text (a question, a response, an input) the page carries, so that no runaway response
 * makes the page heavy: items are a few kilobytes each even with reasoning responses (1,000 such SemiEvol questions
 * make a page of about 3 MB). A cut text is searched as cut, and the page says so.
 */
export const longestText = 2000;

/** The columns a block is wrapped at: about the page's width in its monospace font. */
const blockWidth = 100;

/** One item as the page carries it: its block as `flt show` writes it, and what the filters test. */
export interface BrowserItem {
  block: string;
  /** `--selected` / `--rejected`'s verdict. */
  verdict: boolean | null;
  /** What `--reason` matches; null when the item was not left out. */
  reason: string | null;
  /** What `--grep` searches. */
  search: string;
}

/** `value` with every string longer than `limit` characters cut there, an ellipsis marking the cut. */
function cutTexts<T>(value: T, limit: number, onCut: () => void): T {
  if (typeof value === 'string' && value.length > limit) {
    onCut();
    return `${Array.from(value).slice(0, limit).join('')}…` as T;
  }
  if (Array.isArray(value)) return value.map((v) => cutTexts(v, limit, onCut)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cutTexts(v, limit, onCut)])) as T;
  return value;
}

/** The items as the page carries them, their texts cut at `limit`; `cut`: how many items had a text cut. */
export function browserItems(items: readonly ShownItem[], limit = longestText): { items: BrowserItem[]; cut: number } {
  let cut = 0;
  const carried = items.map((item) => {
    let wasCut = false;
    const shown = cutTexts(item, limit, () => (wasCut = true));
    if (wasCut) cut++;
    return {
      block: itemBlock(shown, items.length, blockWidth).join('\n'),
      verdict: isSelected(shown) ?? null,
      reason: reasonOf(shown),
      search: searchedText(shown),
    };
  });
  return { items: carried, cut };
}

/**
 * JSON for a `<script type="application/json">` element, with every `<` escaped: no text in it can close the element
 * (`</script>`) or switch the parser into a comment's rules (`<!--`). JSON.parse reads it back unchanged.
 */
export const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const verdictNames: Record<ShownMethod, [string, string]> = {
  semievol: ['selected', 'not selected'],
  selfguide: ['kept by the input filters', 'removed by the input filters'],
};

/** What a section's items show and search, as HTML (no data in it). */
const leads: Record<ShownMethod, string> = {
  semievol:
    'Every unlabeled question as <code>flt show</code> lists it: its options, each collaborator’s answer, whether ' +
    'they agreed, the justification, the pseudo-label and its entropy H, whether it was selected, and the gold ' +
    'answer withheld from the run (a diagnostic no stage read). Search takes a case-insensitive regular expression ' +
    'over the question, its options and every answer and response.',
  selfguide:
    'Every generated input as <code>flt show</code> lists it: its round, the input filters’ verdict and reason, the ' +
    'annotation samples’ votes and the answer kept, or why none was. Search takes a case-insensitive regular ' +
    'expression over the input and its answers.',
};

export const itemsTitle = (run: RunItems) => `Items of ${run.task} (run ${run.runId})`;

/** How many items each verdict and each recorded reason covers, as `flt show`'s filters count them. */
export function itemCounts(run: RunItems): { label: string; value: string; count: number }[] {
  const [selected, rejected] = verdictNames[run.method];
  return [
    { label: selected, value: 'selected', count: filterItems(run.items, { selected: true }).length },
    { label: rejected, value: 'rejected', count: filterItems(run.items, { rejected: true }).length },
    ...recordedReasons[run.method].map((reason) => ({
      label: reason,
      value: reason,
      count: filterItems(run.items, { reason }).length,
    })),
  ];
}

const blockHtml = (item: BrowserItem) => `<pre class="item">${escapeXml(item.block)}</pre>`;

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** A run's items: the filters, the first page (all the page shows without script), and every item as JSON. */
export function itemBrowserSection(run: RunItems): string {
  const { items, cut } = browserItems(run.items);
  const counts = itemCounts(run);
  const option = (value: string, label: string) => `<option value="${escapeXml(value)}">${escapeXml(label)}</option>`;
  const counted = (c: (typeof counts)[number]) => option(c.value, `${c.label} (${c.count})`);
  const firstPage = items.slice(0, itemsPerPage);
  const command = `flt show ${run.runId}`;
  const cutNote = cut
    ? `<p class="item-note">${plural(cut, 'item')} ${cut === 1 ? 'has' : 'have'} a text longer than ` +
      `${longestText.toLocaleString('en-US')} characters, cut here and searched as cut; ` +
      `<code>${escapeXml(command)}</code> shows them whole.</p>`
    : '';
  return [
    `<section class="items"><h2>${escapeXml(itemsTitle(run))}</h2><p>${leads[run.method]}</p>`,
    cutNote,
    // Hidden until the script runs: without it the controls would do nothing.
    '<form class="item-filters" hidden>',
    '<label>search <input name="grep" type="search" placeholder="regular expression, any case"></label>',
    `<label>verdict <select name="verdict">${option('', 'all')}${counts.slice(0, 2).map(counted).join('')}</select>`,
    '</label>',
    `<label>reason <select name="reason">${option('', 'any')}${counts.slice(2).map(counted).join('')}</select></label>`,
    '</form>',
    // The status line `flt show` prints, which the script rewrites on each filter.
    `<p class="item-status">${items.length} items${firstPage.length ? `; shown: 1 to ${firstPage.length}` : ''}</p>`,
    `<noscript><p>Without JavaScript this page shows the first ${firstPage.length} of ${plural(items.length, 'item')}` +
      `; <code>${escapeXml(command)}</code> lists them all, with the same filters.</p></noscript>`,
    `<div class="item-list">${firstPage.map((item) => blockHtml(item)).join('')}</div>`,
    '<p class="item-pages" hidden><button type="button" data-step="-1">previous page</button> ' +
      '<button type="button" data-step="1">next page</button></p>',
    `<script type="application/json" class="item-data">${scriptJson(items)}</script>`,
    '</section>',
  ].join('\n');
}

/**
 * The page's one script: for each item section, filters as `flt show` does (a verdict, a reason, a case-insensitive
 * regular expression over the searched text), pages of 50, and the status line `flt show` prints. It acts on each
 * event at once, with no timers, so what a test dispatches has happened when dispatch returns.
 */
export const itemBrowserScript = `<script>
(() => {
  const perPage = ${itemsPerPage};
  for (const section of document.querySelectorAll('section.items')) {
    const items = JSON.parse(section.querySelector('script.item-data').textContent);
    const form = section.querySelector('form.item-filters');
    const list = section.querySelector('.item-list');
    const status = section.querySelector('.item-status');
    const pages = section.querySelector('.item-pages');
    let matching = items;
    let first = 0;
    const show = (note) => {
      const page = matching.slice(first, first + perPage);
      list.replaceChildren(...page.map((item) => {
        const block = document.createElement('pre');
        block.className = 'item';
        block.textContent = item.block;
        return block;
      }));
      const of = matching.length === items.length ? '' : matching.length + ' of ';
      const range = page.length ? '; shown: ' + (first + 1) + ' to ' + (first + page.length) : '; none on this page';
      status.textContent = note || of + items.length + ' items' + range;
      pages.querySelector('[data-step="-1"]').disabled = first === 0;
      pages.querySelector('[data-step="1"]').disabled = first + perPage >= matching.length;
    };
    const filter = () => {
      const { verdict, reason, grep } = form.elements;
      first = 0;
      let pattern = null;
      try {
        pattern = grep.value ? new RegExp(grep.value, 'i') : null;
      } catch (error) {
        matching = [];
        return show(grep.value + ' is not a regular expression: ' + error.message);
      }
      matching = items.filter((item) =>
        (!verdict.value || item.verdict === (verdict.value === 'selected')) &&
        (!reason.value || item.reason === reason.value) &&
        (!pattern || pattern.test(item.search)));
      show();
    };
    form.addEventListener('input', filter);
    form.addEventListener('submit', (event) => event.preventDefault());
    pages.addEventListener('click', (event) => {
      const step = Number(event.target.dataset.step);
      if (!step) return;
      first = Math.max(0, first + step * perPage);
      show();
    });
    form.hidden = false;
    pages.hidden = false;
    filter();
  }
})();
</script>`;
