// Headless Chromium for tests that check what a browser draws: Debian's `chromium` package (scripts/setup.sh installs
// it on Debian when running as root). Each launch gets a new empty profile and no network-facing extras.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const names = ['chromium', 'chromium-browser', 'google-chrome'];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    for (const name of names) if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Headless, with a new empty profile and none of Chromium's own network traffic (updates, sync, QUIC). */
const quietHeadless = (profile: string) => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--user-data-dir=${profile}`,
];

/** Loads a local file headless and returns the DOM after load (`--dump-dom`), or writes a screenshot. */
export async function headless(
  chromium: string,
  file: string,
  output: { dumpDom: true } | { screenshot: string; size: [number, number] },
): Promise<string> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'flt-chromium-'));
  const flags = quietHeadless(profile);
  const mode =
    'dumpDom' in output
      ? ['--dump-dom']
      : [`--screenshot=${output.screenshot}`, `--window-size=${output.size.join(',')}`, '--hide-scrollbars'];
  try {
    const { stdout } = await promisify(execFile)(chromium, [...flags, ...mode, `file://${file}`], {
      timeout: 60_000,
      maxBuffer: 32 * 1024 * 1024,
    });
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * A copy of a page that, once Chromium has laid it out, records in `<body data-drawn>` each chart's marks (bars,
 * cells, threshold lines) and how many have a non-empty box on screen.
 */
export const drawnProbe =
  `<script>
const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
  const marks = [...svg.querySelectorAll('.bar, .cell, .threshold')];
  const drawn = marks.filter((m) => { const b = m.getBoundingClientRect(); ` +
  `return b.height > 0 && (b.width > 0 || m.classList.contains('threshold')); });
  return { chart: svg.dataset.chart, width: Math.round(svg.getBoundingClientRect().width), ` +
  `marks: marks.length, drawn: drawn.length };
});
document.body.setAttribute('data-drawn', JSON.stringify(charts));
</script>`;

export function readProbe(dom: string): { chart: string; width: number; marks: number; drawn: number }[] {
  const match = /data-drawn="([^"]*)"/.exec(dom);
  if (!match) throw new Error('the probe did not run: no data-drawn attribute in the dumped DOM');
  return JSON.parse(match[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
}

/** One step through a report's item browser: set its filters (those left out are cleared), or turn a page. */
export type BrowseStep = { grep?: string; verdict?: 'selected' | 'rejected'; reason?: string } | { page: 1 | -1 };

export interface BrowsedView {
  /** Items on the page after the step. */
  shown: number;
  /** The first shown item's head line (`item 51 of 60 · q51 · not selected`); null when none is shown. */
  first: string | null;
  status: string;
  /** The page's title: a script that item text injected would have changed it. */
  title: string;
}

/**
 * A script that, after the page's own, takes `steps` in the page's first item browser the way a reader does (typing
 * and choosing fire `input` events; a page turns by a button's click), each acted on before dispatch returns, and
 * records what each step left on the page in `<body data-browsed>`.
 */
export function browseProbe(steps: BrowseStep[]): string {
  return `<script>
const section = document.querySelector('section.items');
const form = section.querySelector('form.item-filters');
const set = (name, value) => {
  form.elements[name].value = value;
  form.elements[name].dispatchEvent(new Event('input', { bubbles: true }));
};
const views = ${JSON.stringify(steps).replace(/</g, '\\u003c')}.map((step) => {
  if ('page' in step) section.querySelector('[data-step="' + step.page + '"]').click();
  else for (const name of ['grep', 'verdict', 'reason']) set(name, step[name] ?? '');
  const shown = [...section.querySelectorAll('.item-list pre.item')];
  return {
    shown: shown.length,
    first: shown.length ? shown[0].textContent.split('\\n')[0] : null,
    status: section.querySelector('.item-status').textContent,
    title: document.title,
  };
});
document.body.setAttribute('data-browsed', JSON.stringify(views));
</script>`;
}

export function readBrowseProbe(dom: string): BrowsedView[] {
  const match = /data-browsed="([^"]*)"/.exec(dom);
  if (!match) throw new Error('the browse probe did not run: no data-browsed attribute in the dumped DOM');
  const unescaped = match[1]
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
  return JSON.parse(unescaped.replace(/&amp;/g, '&'));
}

// A page whose content a script fetches after load (the Temporal Web UI, a SvelteKit app) is still an empty shell when
// `--dump-dom` dumps it, and with `--virtual-time-budget` Chromium 156 never returned on a running workflow's page
// (it did on the workflow list). So Chromium is driven over the DevTools protocol on a pipe (no port, no extra
// package): the page is read again and again until the test's `ready` holds.
import { spawn } from 'node:child_process';

/** A same-origin frame of a rendered page: the Web UI draws Markdown (summaries, details) in `/render` iframes. */
export interface RenderedFrame {
  src: string;
  dom: string;
  text: string;
}

export interface RenderedPage {
  url: string;
  dom: string;
  /** `innerText`: as laid out, so separate paragraphs and list items are separate lines. */
  text: string;
  frames: RenderedFrame[];
  /** A PNG of the whole page once it was ready, when asked for. */
  png?: Buffer;
}

const snapshotScript = `(() => {
  const frames = [...document.querySelectorAll('iframe')].map((frame) => {
    let doc = null;
    try { doc = frame.contentDocument; } catch { /* another origin: left empty */ }
    return {
      src: frame.getAttribute('src') || '',
      dom: (doc && doc.documentElement && doc.documentElement.outerHTML) || '',
      text: (doc && doc.body && doc.body.innerText) || '',
    };
  });
  return { dom: document.documentElement.outerHTML, text: document.body ? document.body.innerText : '', frames };
})()`;

/**
 * Loads `url` in headless Chromium and reads the page (its DOM, its text and its same-origin frames') every 200 ms
 * until `ready` accepts it. Data a page fetched once and not again (the UI's query of a workflow's current details)
 * gets another chance: the page is reloaded every `reloadMs` while not ready. Gives up after `timeoutMs` saying what
 * it waited for and what the page showed last.
 */
export async function renderedPage(
  chromium: string,
  url: string,
  options: {
    ready: (page: RenderedPage) => boolean;
    what: string;
    timeoutMs?: number;
    reloadMs?: number;
    size?: [number, number];
    screenshot?: boolean;
  },
): Promise<RenderedPage> {
  const { timeoutMs = 60_000, reloadMs = 10_000, size = [1400, 1000] } = options;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'flt-chromium-'));
  const child = spawn(
    chromium,
    [
      ...quietHeadless(profile),
      `--window-size=${size.join(',')}`,
      '--hide-scrollbars',
      '--remote-debugging-pipe',
      'about:blank',
    ],
    // The protocol: Chromium reads commands on fd 3 and writes replies and events on fd 4, each ended by a NUL.
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exited: Error | null = null;
  const exit = new Promise<void>((resolve) => {
    const end = (error: Error) => {
      exited ??= error;
      for (const p of pending.values()) p.reject(exited);
      pending.clear();
      resolve();
    };
    child.once('exit', (code, signal) =>
      end(new Error(`chromium exited (${signal ?? code}) while loading ${url}; its last output:\n${stderr}`)),
    );
    child.once('error', end); // not started at all
  });
  let buffered = '';
  const replies = child.stdio[4] as NodeJS.ReadableStream;
  replies.setEncoding('utf8');
  replies.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\0'); end >= 0; end = buffered.indexOf('\0')) {
      const message = JSON.parse(buffered.slice(0, end)) as { id?: number; result?: unknown; error?: unknown };
      buffered = buffered.slice(end + 1);
      const waiting = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiting) continue; // an event
      pending.delete(message.id!);
      if (message.error) waiting.reject(new Error(`DevTools: ${JSON.stringify(message.error)}`));
      else waiting.resolve(message.result);
    }
  });
  let lastId = 0;
  const send = <T>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(exited);
      const id = ++lastId;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      (child.stdio[3] as NodeJS.WritableStream).write(JSON.stringify({ id, method, params, sessionId }) + '\0');
    });

  try {
    const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    await send('Page.enable', {}, sessionId);
    await send('Page.navigate', { url }, sessionId);
    const deadline = Date.now() + timeoutMs;
    let reloadAt = Date.now() + reloadMs;
    let last: RenderedPage | null = null;
    for (;;) {
      // Mid-navigation the page has no context to evaluate in: that read fails and the next one is tried.
      const read = await send<{ result: { value?: Omit<RenderedPage, 'url'> } }>(
        'Runtime.evaluate',
        { expression: snapshotScript, returnByValue: true },
        sessionId,
      ).catch((error: Error) => {
        if (exited) throw error;
        return null;
      });
      if (read?.result.value) {
        last = { url, ...read.result.value };
        if (options.ready(last)) break;
      }
      if (Date.now() > deadline) {
        const shown = last ? `${last.text}\n${last.frames.map((f) => `[frame ${f.src}]\n${f.text}`).join('\n')}` : '';
        throw new Error(
          `${url} did not show ${options.what} within ${timeoutMs / 1000} s; the page's text last read:\n${shown}`,
        );
      }
      if (Date.now() > reloadAt) {
        await send('Page.reload', {}, sessionId);
        reloadAt = Date.now() + reloadMs;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (options.screenshot) {
      const shot = await send<{ data: string }>(
        'Page.captureScreenshot',
        { format: 'png', captureBeyondViewport: true },
        sessionId,
      );
      last.png = Buffer.from(shot.data, 'base64');
    }
    return last;
  } finally {
    await send('Browser.close').catch(() => undefined);
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(killer);
    rmSync(profile, { recursive: true, force: true });
  }
}
