// `semievol.answers: authors` and `semievol.promptLayout: authors` in one run against the provider test double: every
// prompt has the authors' layout, and a question that all collaborators decline in the same words is consistent under
// their `len(set(answers)) == 1`, its '' answer the pseudo-label, where this project's reading would justify it.
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import type { ChatMessage } from '../../core/types';
import { isInconsistent, type CollaborationRecord, type SelectedLine } from '../../core/semievol';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(__dirname, `../../../shared/data/semievol/fpb/${split}.csv`)).items;
const labeled = fpb('labeled').slice(0, 12);
const unlabeled = fpb('unlabeled').slice(0, 20);
const test = fpb('test').slice(0, 8);
const declined = unlabeled.slice(0, 2);
/** Answered by every collaborator with a quoted letter and a period, which only `pack_answer` takes off. */
const quoted = unlabeled[2];
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const isJustification = (messages: ChatMessage[]) => messages.at(-1)!.content.includes('\n\nMultiple Answers:\n');

/** The authors' user turn: the instruction, "Question: " alone on its line, the question, then the options. */
const authorsUserTurn =
  /^Answer the multiple-choice question[^\n]*\n\nQuestion: \n[^]+\n\nOptions:\n(?:[A-C]\. [^\n]+\n){3}$/;

describe('semievolRun with answers: authors and promptLayout: authors', () => {
  let double: ProviderDouble;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  const runId = `semievol-authors-answers-${Date.now()}`;
  let result: SemievolRunResult;
  let prompts: ChatMessage[][];

  beforeAll(async () => {
    double = await startProviderDouble({
      config: {
        models: { 'sim-model': { accuracy: 0.5 } },
        declines: [
          { prompt: declined.map((i) => escaped(i.question)).join('|'), text: 'I cannot tell from this.' },
          { prompt: escaped(quoted.question), text: 'Answer: "C".' },
        ],
        logMessages: true,
      },
      gold: [...labeled, ...unlabeled, ...test].map((i) => ({ question: i.question, answer: i.answer! })),
    });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 8,
      },
    };
    const input = await semievolTestInput(
      deps.store,
      runId,
      providers,
      { labeled, unlabeled, test },
      {
        fineTune: { backend: { kind: 'in-context', k: 2 }, hyperparameters: {}, finalHyperparameters: {} },
        options: { answers: 'authors', promptLayout: 'authors', propagation: { k: 2 }, selection: { theta: 100 } },
      },
    );
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      result = await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
    } finally {
      await close();
    }
    prompts = (await double.requests()).flatMap((r) => (r.messages ? [r.messages as ChatMessage[]] : []));
  });
  afterAll(async () => double?.stop());

  it("asks every question in the authors' layout, few-shot examples as `Example i:` blocks", () => {
    const asked = prompts.filter((messages) => !isJustification(messages));
    expect(asked.length).toBeGreaterThan(unlabeled.length);
    for (const messages of asked) {
      expect(messages.at(-1)!.content).toMatch(authorsUserTurn);
      // No system message but the few-shot one; the in-context backend's demonstrations are user and assistant turns.
      for (const system of messages.filter((m) => m.role === 'system'))
        expect(system.content).toMatch(/^You are skilled at multiple-choice questions\..*\n\nExample 1:\nQuestion: /s);
    }
    expect(asked.some((messages) => messages[0].role === 'system')).toBe(true);
  });

  it("justifies in the authors' shape: their raw options list, then the collaborators' raw responses", async () => {
    const records = await deps.store.readAll<CollaborationRecord>(result.pseudoLabels.records);
    const justified = records.filter((r) => r.reflection);
    const justifications = prompts.filter(isJustification);
    expect(justified.length).toBeGreaterThan(0);
    expect(justifications.length).toBe(justified.length);
    for (const record of justified) {
      const messages = justifications.find((m) => m.at(-1)!.content.includes(`Question: \n${record.question}\n`))!;
      // No system message: the in-context backend's demonstrations are user and assistant turns.
      expect(messages.filter((m) => m.role === 'system')).toEqual([]);
      const responses = record.collaborators.map((c) => c.response).join('\n');
      expect(messages.at(-1)!.content).toMatch(/^Below are several answers to one multiple-choice question\. /);
      expect(
        messages
          .at(-1)!
          .content.endsWith(
            `Options:\n${JSON.stringify(record.options).replaceAll('","', '", "')}\n\n` +
              `Multiple Answers:\n${responses}\n\nGive the final correct answer now:\n`,
          ),
      ).toBe(true);
    }
  });

  it("pseudo-labels with '' a question all collaborators decline in the same words, as only theirs does", async () => {
    const records = await deps.store.readAll<CollaborationRecord>(result.pseudoLabels.records);
    const selected = await deps.store.readAll<SelectedLine>(result.pseudoLabels.selected);
    for (const { id } of declined) {
      const record = records.find((r) => r.id === id)!;
      expect(record.collaborators.every((c) => c.response === 'I cannot tell from this.')).toBe(true);
      expect(record.reflection).toBeNull();
      expect(isInconsistent(record, 'ours')).toBe(true);
      expect(selected.find((line) => line.id === id)).toMatchObject({ pseudo_label: '', consistent: true });
    }
  });

  it("trains M_evol on the authors' user turn alone, the '' label as their empty answer line", async () => {
    const training = await deps.store.lookup(`runs/${runId}/evolve/training`);
    const examples = await deps.store.readAll<{ messages: ChatMessage[] }>(training!);
    const declinedExample = examples.find((e) => e.messages[0].content.includes(declined[0].question))!;
    expect(declinedExample.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(declinedExample.messages[0].content).toMatch(authorsUserTurn);
    expect(declinedExample.messages[1].content).toBe('Answer: ');
  });

  it('trains on a pseudo-label packed as their pack_answer packs it: its quotes and period gone', async () => {
    const selected = await deps.store.readAll<SelectedLine>(result.pseudoLabels.selected);
    expect(selected.find((line) => line.id === quoted.id)).toMatchObject({ pseudo_label: '"C".', consistent: true });
    const training = await deps.store.lookup(`runs/${runId}/evolve/training`);
    const examples = await deps.store.readAll<{ messages: ChatMessage[] }>(training!);
    const example = examples.find((e) => e.messages[0].content.includes(quoted.question))!;
    expect(example.messages[1].content).toBe('Answer: C');
  });
});
