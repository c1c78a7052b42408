// SemiEvol's fidelity options on worked examples: what the entropy covers, cut-off responses, the prompt style's
// defaults, and which retriever propagation uses.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivityDeps } from '../../activities/context';
import { evaluationActivities } from '../../activities/evaluation';
import type { AnsweredQuestion } from '../../activities/inference';
import { mcqInstruction, zeroShotMessages } from '../../core/prompts';
import { semievolOptionsSchema, semievolRunSchema, semievolSampling } from '../../core/semievol-config';
import {
  answerSpan,
  answerSpanEntropy,
  adaptiveSelection,
  countPseudoLabels,
  pseudoLabel,
  responseEntropy,
  type CollaborationRecord,
  type RecordedResponse,
} from '../../core/semievol';
import { LocalArtifactStore } from '../../lib/artifacts';
import { asksForAnswerOnly } from '../../testdouble/simulated-model';

/** A recorded response with reasoning: confident filler tokens, then an unsure answer letter. */
const reasoned: RecordedResponse = {
  response: 'Profit rose, so it is good.\nAnswer: C',
  tokens: ['Profit', ' rose', ',', ' so', ' it', ' is', ' good', '.\n', 'Answer', ':', ' C'],
  logprobs: [-0.1, -0.1, -0.1, -0.1, -0.1, -0.1, -0.1, -0.1, -0.01, -0.02, -1.2],
  finishReason: 'stop',
};

describe('entropy over the response or the answer span', () => {
  it('averages every token for `response` and only the last "Answer:" line for `answer-span`', () => {
    // (8 x 0.1 + 0.01 + 0.02 + 1.2) / 11 = 2.03 / 11; the answer line: (0.01 + 0.02 + 1.2) / 3 = 0.41.
    expect(responseEntropy(reasoned.logprobs)).toBeCloseTo(2.03 / 11, 10);
    expect(answerSpanEntropy(reasoned)).toBeCloseTo(0.41, 10);
  });

  it('is the same for both when the response is the answer line alone', () => {
    const answerOnly = {
      ...reasoned,
      response: 'Answer: C',
      tokens: ['Answer', ':', ' C'],
      logprobs: [-0.01, -0.02, -1.2],
    };
    expect(answerSpanEntropy(answerOnly)).toBeCloseTo(responseEntropy(answerOnly.logprobs)!, 10);
  });

  it('takes the last "Answer:" line, and the whole response without one', () => {
    expect(answerSpan('Answer: A? No.\nAnswer: B\n')).toEqual({ start: 15, end: 24 });
    expect(answerSpan('B')).toEqual({ start: 0, end: 1 });
  });

  it('has no answer-span entropy without token texts that spell the response', () => {
    expect(answerSpanEntropy({ ...reasoned, tokens: undefined })).toBeNull();
    expect(answerSpanEntropy({ ...reasoned, tokens: ['Profit'] })).toBeNull();
  });

  it("gives the pseudo-label the chosen entropy, and so changes the selection's order", () => {
    const unsureAnswer: CollaborationRecord = {
      id: 'unsure',
      question: 'Profit rose.',
      options: ['A', 'B', 'C'].map((l) => `option ${l}`),
      collaborators: [reasoned, reasoned],
      reflection: null,
    };
    // A sure answer after a shakier rationale: the higher H over the whole response, the lower over its answer line.
    const sureAnswer: CollaborationRecord = {
      ...unsureAnswer,
      id: 'sure',
      collaborators: [0, 1].map(() => ({ ...reasoned, logprobs: [...Array(8).fill(-0.3), -0.01, -0.02, -0.05] })),
    };
    const pick = (over: 'response' | 'answer-span') =>
      adaptiveSelection(
        [
          pseudoLabel(unsureAnswer, { answers: 'ours', entropyOver: over }),
          pseudoLabel(sureAnswer, { answers: 'ours', entropyOver: over }),
        ],
        {
          theta: 0,
          among: 'all',
          strict: false,
        },
      ).selected.map((q) => q.id);
    expect(pick('response')).toEqual(['unsure']);
    expect(pick('answer-span')).toEqual(['sure']);
  });
});

describe("'cut off before an answer' and 'no answer'", () => {
  const ours = { answers: 'ours', entropyOver: 'response' } as const;
  const question = (id: string, response: RecordedResponse): CollaborationRecord => ({
    id,
    question: 'Profit rose.',
    options: ['negative', 'neutral', 'positive'],
    collaborators: [response, { ...reasoned, response: 'Answer: A' }],
    reflection: response,
  });

  it('counts a deciding response that max tokens ended without an answer apart from one that gave none', () => {
    const cutOff = { response: 'Profit rose, so', logprobs: [-0.1, -0.1, -0.1], finishReason: 'length' };
    const noAnswer = { response: 'I cannot tell.', logprobs: [-0.1, -0.1, -0.1], finishReason: 'stop' };
    const labels = [pseudoLabel(question('cut', cutOff), ours), pseudoLabel(question('none', noAnswer), ours)];
    expect(labels.map((l) => l.label === null && l.dropped)).toEqual(['cut-off', 'no-answer']);
    const counts = countPseudoLabels(labels, adaptiveSelection(labels, { theta: 50, among: 'all', strict: false }));
    expect(counts).toMatchObject({ droppedCutOff: 1, droppedNoAnswer: 1, pseudoLabeled: 0 });
  });
});

describe('evaluation scores', () => {
  it('count answers cut off by max tokens apart from answers that were never given', async () => {
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-cutoff-')));
    const answered = (id: string, text: string, finishReason: string, prediction: string | null): AnsweredQuestion => ({
      id,
      responses: [{ text, logprobs: null, finishReason }],
      prediction,
    });
    const answers = await store.writeJsonl([
      answered('right', 'Answer: B', 'stop', 'B'),
      answered('cut', 'Profit rose, so', 'length', null),
      answered('none', 'I cannot tell.', 'stop', null),
    ]);
    const gold = await store.writeJsonl(
      ['right', 'cut', 'none'].map((id) => ({ id, question: 'q', options: ['x', 'y'], answer: 'B' })),
    );
    const { scoreAnswers } = evaluationActivities({ store } as unknown as ActivityDeps);
    const score = await scoreAnswers({
      runId: 'r',
      stage: 'evaluate',
      answers: [answers],
      gold,
      metric: 'option-letter',
    });
    expect(score).toMatchObject({ correct: 1, total: 3, unanswered: 1, cutOff: 1 });
  });

  it("score by the authors' check under their reading, '' counted as no answer", async () => {
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-authors-score-')));
    const answered = (id: string, prediction: string): AnsweredQuestion => ({
      id,
      responses: [{ text: `Answer: ${prediction}`, logprobs: null, finishReason: 'stop' }],
      prediction,
    });
    const answers = await store.writeJsonl([answered('right', 'B'), answered('dotted', 'B.'), answered('none', '')]);
    const gold = await store.writeJsonl(
      ['right', 'dotted', 'none'].map((id) => ({ id, question: 'q', options: ['x', 'y'], answer: 'B' })),
    );
    const { scoreAnswers } = evaluationActivities({ store } as unknown as ActivityDeps);
    const score = await scoreAnswers({
      runId: 'r',
      stage: 'evaluate',
      answers: [answers],
      gold,
      metric: 'option-letter',
      answerReading: 'authors',
    });
    expect(score).toMatchObject({ correct: 1, total: 3, unanswered: 1, cutOff: 0 });
  });
});

describe('collaboration.style', () => {
  it('defaults to the answer line alone, with the entropy over the response (then the answer line)', () => {
    const options = semievolOptionsSchema.parse({});
    expect(options.collaboration.style).toBe('answer');
    expect(options.selection.entropyOver).toBe('response');
  });

  it('gives evaluation enough tokens to reason, unless max tokens are set', () => {
    const run = (semievol: object, sampling: object = {}) =>
      semievolSampling(
        semievolRunSchema.parse({
          method: 'semievol',
          task: 't',
          providers: { p: { kind: 'openai-compatible', baseURL: 'http://localhost:1' } },
          model: { provider: 'p', model: 'm' },
          data: {
            labeled: { path: 'l.csv', format: 'semievol-csv' },
            unlabeled: { path: 'u.csv', format: 'semievol-csv' },
            test: { path: 't.csv', format: 'semievol-csv' },
          },
          fineTune: { backend: { kind: 'in-context' } },
          semievol,
          sampling,
        }),
      );
    expect(run({}).maxTokens).toBe(256);
    expect(run({ collaboration: { style: 'reasoning' } }).maxTokens).toBe(1024);
    expect(run({ collaboration: { style: 'reasoning' } }, { maxTokens: 64 }).maxTokens).toBe(64);
  });

  it("is answered in kind by the test double's simulated model", () => {
    expect(asksForAnswerOnly(zeroShotMessages({ question: 'q', options: ['x', 'y'] }, 'answer'))).toBe(true);
    expect(asksForAnswerOnly(zeroShotMessages({ question: 'q', options: ['x', 'y'] }, 'reasoning'))).toBe(false);
    expect(asksForAnswerOnly(zeroShotMessages({ question: 'q', options: ['x', 'y'] }, 'answer', 'authors'))).toBe(true);
    expect(asksForAnswerOnly(zeroShotMessages({ question: 'q', options: [] }, 'reasoning', 'authors'))).toBe(false);
    expect(mcqInstruction('answer')).not.toBe(mcqInstruction('reasoning'));
  });
});

describe('propagation.retriever', () => {
  it("is this project's BM25 when no embedding model is configured", () => {
    expect(semievolOptionsSchema.parse({}).propagation.retriever).toEqual({ kind: 'bm25' });
  });

  it('is the embedding model, as the authors retrieve, once one is configured', () => {
    const options = semievolOptionsSchema.parse({
      propagation: { embeddingModel: { provider: 'openai', model: 'text-embedding-3-small' } },
    });
    expect(options.propagation.retriever).toEqual({
      kind: 'embeddings',
      provider: 'openai',
      model: 'text-embedding-3-small',
    });
  });

  it('stays BM25 when asked for, even with an embedding model configured', () => {
    const options = semievolOptionsSchema.parse({
      propagation: { embeddingModel: { provider: 'openai', model: 'e' }, retriever: { kind: 'bm25' } },
    });
    expect(options.propagation.retriever).toEqual({ kind: 'bm25' });
  });
});
