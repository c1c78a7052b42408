// What the Temporal Web UI really draws for a run, read from headless Chromium: the run's summary, details and current
// details (Markdown, rendered by the UI's /render frames) and its children in the workflow list filtered by search
// attributes. A SemiEvol run on the provider test double is held at a budget wait (collaboration is estimated over
// its USD 0.01), which keeps its current details and its finished warm-up and propagate children still while the
// pages are read.
import type { Client } from '@temporalio/client';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { controlQuery } from '../../core/workflow-messages';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { findChromium, renderedPage, type RenderedFrame, type RenderedPage } from '../support/chromium';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { temporalAddress, testClient } from '../support/temporal';

const exec = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const splits = { labeled: 12, unlabeled: 30, test: 15 };
const chromium = findChromium();

/** Polls `check` until it returns a value, for up to three minutes (the bound is for a hang, not for speed). */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>): Promise<T> {
  for (const deadline = Date.now() + 180_000; Date.now() < deadline;) {
    const value = await check().catch(() => null);
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The Markdown a /render frame was given (its `content` parameter); null for other frames. */
const frameSource = (frame: RenderedFrame): string | null =>
  frame.src.startsWith('/render?') ? new URL(frame.src, 'http://ui').searchParams.get('content') : null;

/** What would show that the UI read Markdown as something else: math, fractions, a `$` it left alone. */
function misreadings(frame: RenderedFrame): string[] {
  const found: string[] = [];
  if (/<(math|mjx-container)\b|class="(?:[^"]*\s)?(?:katex|math)[\s"]/.test(frame.dom)) found.push('a math element');
  if (/\\[()[\]]/.test(frame.text)) found.push('LaTeX delimiters left in the text (\\( \\) \\[ \\])');
  if (/[\u00bc-\u00be\u2044\u2150-\u215f]|&frasl;/.test(frame.dom + frame.text)) found.push('a fraction glyph');
  if (frame.text.includes('$')) found.push('a dollar sign');
  return found;
}

const describeInChromium = chromium ? describe : describe.skip;
describeInChromium(
  chromium
    ? "a run's page in the Temporal Web UI, drawn by headless Chromium"
    : "a run's page in the Temporal Web UI (skipped: no chromium on PATH; " +
        '`apt-get install chromium` or `npm run setup` as root on Debian)',
  () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'flt-ui-page-'));
    // Screenshots of the pages read, for a person to look at; FLT_TEST_ARTIFACTS keeps them somewhere lasting.
    const shots = process.env.FLT_TEST_ARTIFACTS ?? path.join(home, 'screenshots');
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      FLT_HOME: home,
      FLT_TASK_QUEUE: `ui-page-${process.pid}`,
      FLT_UI_KEY: 'k',
    };
    const ui = process.env.FLT_TEST_TEMPORAL_UI!;
    const task = `fpb-ui-${process.pid}`;
    const runId = `ui-page-${Date.now()}`;
    let double: ProviderDouble;
    let worker: ChildProcess;
    let client: Client;
    let closeClient: () => Promise<void>;

    /** Loads a UI page until `ready`, keeping its screenshot as `<name>.png`. */
    const load = async (name: string, url: string, what: string, ready: (page: RenderedPage) => boolean) => {
      const page = await renderedPage(chromium!, url, { what, ready, screenshot: true });
      mkdirSync(shots, { recursive: true });
      writeFileSync(path.join(shots, `${runId}-${name}.png`), page.png!);
      return page;
    };

    beforeAll(async () => {
      // The first rows of the bundled sample (two lines per row in these files).
      const data: Record<string, { format: string; path: string }> = {};
      for (const [split, rows] of Object.entries(splits)) {
        const file = path.join(home, `${split}.csv`);
        const lines = readFileSync(path.join(root, `demo/fpb/${split}.csv`), 'utf8').split('\n');
        writeFileSync(file, lines.slice(0, 1 + 2 * rows).join('\n') + '\n');
        data[split] = { format: 'semievol-csv', path: file };
      }
      const gold = Object.values(data).flatMap((d) => loadSemiEvolCsv(d.path).items);
      double = await startProviderDouble({
        config: { fineTune: { stepMs: 100 } },
        gold: gold.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
      });
      worker = spawnTs(path.join(root, 'worker.ts'), [], { env, cwd: root, stdio: 'ignore' });
      ({ client, close: closeClient } = await testClient());
      const config = path.join(home, 'semievol.yaml');
      writeFileSync(
        config,
        stringify({
          method: 'semievol',
          task,
          providers: {
            double: {
              kind: 'openai-compatible',
              baseURL: double.baseURL,
              apiKeyEnv: 'FLT_UI_KEY',
              testDouble: true,
              prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 1, trainingPerMillionTokens: 1 },
            },
          },
          model: { provider: 'double', model: 'sim-model' },
          data,
          fineTune: { backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 } },
          // Warm-up and propagation fit in USD 0.01; collaboration is estimated over it, so the run waits there.
          budget: { usd: 0.01 },
          execution: { shardSize: 10, parallelShards: 2 },
        }),
      );
      await exec(process.execPath, tsArgs(path.join(root, 'client.ts'), ['run', config, '--id', runId]), {
        env,
        cwd: root,
      });
      await until(
        'the run to wait for budget before collaboration',
        async () => (await client.workflow.getHandle(runId).query(controlQuery)).awaiting?.stage === 'collaborate',
      );
    });

    afterAll(async () => {
      await client?.workflow
        .getHandle(runId)
        .terminate('ui-page test done')
        .catch(() => undefined);
      worker?.kill('SIGTERM');
      await new Promise((resolve) => (worker?.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
      await double?.stop();
      await closeClient?.();
    });

    it('shows the summary, details and current details as Markdown meant: lines apart, USD, no math', async () => {
      const { runId: executionId } = await client.workflow.getHandle(runId).describe();
      const frames = (page: RenderedPage) => {
        const rendered = page.frames.filter((f) => frameSource(f) !== null && f.text.trim() !== '');
        return {
          summary: rendered.find((f) => frameSource(f) === `semievol on ${task}`),
          details: rendered.find((f) => frameSource(f)!.startsWith('- method: semievol')),
          current: rendered.find((f) => frameSource(f)!.startsWith('**Awaiting approval**')),
          all: rendered,
        };
      };
      const page = await load(
        'user-metadata',
        `${ui}/namespaces/default/workflows/${runId}/${executionId}/user-metadata`,
        "the run's summary, details and current details",
        (p) => {
          const f = frames(p);
          return !!(f.summary && f.details && f.current);
        },
      );
      const { summary, details, current, all } = frames(page);
      expect(summary!.text.trim()).toBe(`semievol on ${task}`);

      // Static details: a list, one item a line.
      const detailLines = details!.text.trim().split('\n');
      expect(detailLines).toEqual(
        frameSource(details!)!
          .split('\n')
          .map((line) => line.replace(/^- /, '')),
      );
      expect(detailLines).toContain('budget: USD 0.0100');
      expect(detailLines.find((l) => l.startsWith('estimate: '))).toMatch(/^estimate: up to USD \d+\.\d{2,4}, /);
      expect(details!.dom.match(/<li>/g)).toHaveLength(detailLines.length);

      // Current details: the wait, the stage and the spend, each a paragraph of its own.
      expect(current!.dom.match(/<p>/g)).toHaveLength(3);
      const paragraphs = current!.text.trim().split(/\n+/);
      expect(paragraphs).toHaveLength(3);
      expect(paragraphs[0]).toMatch(
        new RegExp(
          // The UI's typographer curls the quotes around the stage's name.
          '^Awaiting approval: stage .collaborate. is estimated at up to USD \\d+\\.\\d{4}, which would bring the ' +
            `run to USD \\d+\\.\\d{4}, over its USD 0\\.0100 budget\\. Run flt approve ${runId} for this stage, or ` +
            `raise the budget with flt budget ${runId} --usd <dollars>\\.$`,
        ),
      );
      expect(paragraphs[1]).toMatch(/^Stage: collaborate: stage 3 of \d+: /);
      expect(paragraphs[2]).toMatch(/^Spent: USD \d+\.\d{4}, \d+ tokens of a USD 0\.0100 budget$/);
      expect(current!.dom).toContain('<strong>Awaiting approval</strong>');

      const misread = (frame: RenderedFrame) => ({ markdown: frameSource(frame), misread: misreadings(frame) });
      expect(all.map(misread)).toEqual(all.map((f) => ({ markdown: frameSource(f), misread: [] })));
      expect(misreadings({ src: page.url, dom: page.dom, text: page.text })).toEqual([]);
    });

    it("lists the run's children in the UI's workflow list filtered by their search attributes", async () => {
      /** The workflow ids the list page links to (each row links to its run's page). */
      const linked = /href="\/namespaces\/default\/workflows\/([^/"?]+)\/[0-9a-f-]{36}\//g;
      const ids = (page: RenderedPage) => [...new Set(Array.from(page.dom.matchAll(linked), (m) => m[1]))].sort();
      const listed = (name: string, query: string, expected: string[]) =>
        load(
          name,
          `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`,
          `${expected.join(' and ')} in the list for ${query}`,
          (p) => expected.every((id) => ids(p).includes(id)),
        );

      // Every child carries its parent's method, task and base model.
      const children = await listed(
        'list-children',
        `ParentWorkflowId = "${runId}" AND FltMethod = "semievol" AND FltTask = "${task}" AND ` +
          `FltBaseModel = "sim-model"`,
        [`${runId}--propagate`, `${runId}--warm-up`],
      );
      expect(ids(children)).toEqual([`${runId}--propagate`, `${runId}--warm-up`]);

      // And its own stage: filtering on one stage lists that child alone.
      const warmUp = await listed('list-warm-up', `RootWorkflowId = "${runId}" AND FltStage = "warm-up"`, [
        `${runId}--warm-up`,
      ]);
      expect(ids(warmUp)).toEqual([`${runId}--warm-up`]);
    });

    it("shows a child's summary as written: names with underscores are not emphasis", async () => {
      const child = `${runId}--warm-up`;
      const { runId: executionId } = await client.workflow.getHandle(child).describe();
      const written = 'warm-up: M_warm = fine-tune(M_base, D_L)';
      const summary = (p: RenderedPage) => p.frames.find((f) => frameSource(f) === written && f.text.trim() !== '');
      const page = await load(
        'warm-up',
        `${ui}/namespaces/default/workflows/${child}/${executionId}/user-metadata`,
        "the warm-up child's summary",
        (p) => !!summary(p),
      );
      expect(summary(page)!.text.trim()).toBe(written);
      expect(summary(page)!.dom).not.toMatch(/<(em|strong)>/);
      expect(misreadings(summary(page)!)).toEqual([]);
    });
  },
);
