// Cache keys do not depend on the order in which a config file or a request wrote its keys.
import { ResponseCache } from '../../lib/response-cache';
import { contentTag } from '../../activities/fine-tuning';

describe('canonical keys', () => {
  it('gives the response-cache key of a request whatever its key order', () => {
    const request = { model: 'm', max_tokens: 4, temperature: 0.5, messages: [{ role: 'user', content: 'hi' }] };
    const reordered = { messages: [{ content: 'hi', role: 'user' }], temperature: 0.5, max_tokens: 4, model: 'm' };
    expect(ResponseCache.key({ endpoint: 'e', request: reordered })).toBe(
      ResponseCache.key({ request, endpoint: 'e' }),
    );
    expect(ResponseCache.key({ endpoint: 'e', request: { ...request, temperature: 0.6 } })).not.toBe(
      ResponseCache.key({ endpoint: 'e', request }),
    );
  });
});

const contentTagBefore = { runId: 'cdc0a289fe6c4', stage: 'warm-up' };

describe('fine-tune job tags', () => {
  const job = {
    stage: 'warm-up',
    training: { uri: 'x', sha256: 'abc', count: 1, bytes: 1 },
    baseModel: 'm',
    backend: {
      kind: 'together' as const,
      provider: 'api',
      pollIntervalSeconds: 5,
      baseURL: 'http://t',
      apiKeyEnv: 'K',
    },
    providers: {},
  };

  it('gives the same tag to the same hyperparameters in any key order', () => {
    const tag = contentTag({ ...job, hyperparameters: { epochs: 2, learningRate: 1e-4, batchSize: 8, lora: true } });
    expect(
      contentTag({ ...job, hyperparameters: { lora: true, batchSize: 8, learningRate: 1e-4, epochs: 2 } }),
    ).toEqual(tag);
    expect(
      contentTag({ ...job, hyperparameters: { batchSize: 8, epochs: 2, lora: true, learningRate: 1e-4 } }),
    ).toEqual(tag);
    expect(
      contentTag({ ...job, hyperparameters: { epochs: 3, learningRate: 1e-4, batchSize: 8, lora: true } }),
    ).not.toEqual(tag);
  });

  it('keeps the tag a job always had when its hyperparameters were written in sorted order', () => {
    // The tag of the paper's defaults before tags were canonical: a resumed run still finds the job it trained.
    expect(contentTag({ ...job, hyperparameters: { epochs: 2, learningRate: 1e-4, lora: true } })).toEqual(
      contentTagBefore,
    );
  });
});
