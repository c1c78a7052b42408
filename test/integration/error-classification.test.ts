// Failures the provider test double injects, as the chat backend throws them, classified as the activities see them.
import { openAiCompatibleProviderSchema } from '../../core/config';
import { classify } from '../../activities/providers/errors';
import { OpenAiCompatibleChat } from '../../activities/providers/openai-compatible';
import { startProviderDouble, type FaultKind, type ProviderDouble } from '../support/provider-double';

describe('provider failures from the test double', () => {
  let double: ProviderDouble;
  let chat: OpenAiCompatibleChat;
  const request = { model: 'sim-model', temperature: 0, messages: [{ role: 'user' as const, content: 'Say A.' }] };

  beforeAll(async () => {
    double = await startProviderDouble();
    const config = openAiCompatibleProviderSchema.parse({
      kind: 'openai-compatible',
      baseURL: double.baseURL,
      requestTimeoutSeconds: 2,
    });
    chat = new OpenAiCompatibleChat(config, {});
  });
  afterAll(() => double?.stop());

  async function failure(kind: FaultKind): Promise<unknown> {
    await double.configure({ faults: { rate: 1, kinds: [kind], retryAfterSeconds: 3, timeoutMs: 100 } });
    try {
      await chat.complete(request);
    } catch (err) {
      return err;
    } finally {
      await double.configure({ faults: { rate: 0 } });
    }
    throw new Error(`the ${kind} fault did not fail the call`);
  }

  test.each([
    ['500', { retryable: true, type: 'ProviderHttp500' }],
    ['429', { retryable: true, type: 'ProviderHttp429', retryAfterMs: 3000 }],
    ['malformed', { retryable: true, type: 'ProviderMalformedResponse' }],
    ['reset', { retryable: true, type: 'ProviderConnection' }],
    ['timeout', { retryable: true, type: 'ProviderConnection' }],
  ] as const)('%s', async (kind, expected) => {
    expect(classify(await failure(kind))).toMatchObject(expected);
  });

  test('a request the provider refuses (400, 404) is final', async () => {
    const refused = await chat.complete({ ...request, temperature: -1 }).catch((err: unknown) => err);
    expect(classify(refused)).toMatchObject({ retryable: false, type: 'ProviderHttp400' });
    const missing = await chat.complete({ ...request, model: 'no-such-model' }).catch((err: unknown) => err);
    expect(classify(missing)).toMatchObject({ retryable: false, type: 'ProviderHttp404' });
  });
});

describe('error bodies of vLLM and SGLang', () => {
  let double: ProviderDouble;
  let chat: OpenAiCompatibleChat;
  const ask = (model: string) =>
    chat
      .complete({ model, temperature: 0, messages: [{ role: 'user', content: 'Say A.' }] })
      .then(() => Promise.reject(new Error(`the call to ${model} did not fail`)))
      .catch((err: unknown) => err);

  beforeAll(async () => {
    double = await startProviderDouble();
    chat = new OpenAiCompatibleChat(
      openAiCompatibleProviderSchema.parse({ kind: 'openai-compatible', baseURL: double.baseURL }),
      {},
    );
  });
  afterAll(() => double?.stop());

  test("vLLM's flat 404 for a model it does not serve reaches the user with the server's message", async () => {
    await double.configure({ servingEngine: 'vllm' });
    const c = classify(await ask('flt-ghost'));
    expect(c).toMatchObject({ retryable: false, type: 'ProviderHttp404' });
    expect(c.message).toContain('The model `flt-ghost` does not exist.');
  });

  test("SGLang's flat 400 for an adapter it has not loaded reaches the user with the server's message", async () => {
    await double.configure({ servingEngine: 'sglang' });
    const c = classify(await ask('sim-model:flt-ghost'));
    expect(c).toMatchObject({ retryable: false, type: 'ProviderHttp400' });
    expect(c.message).toContain('The following requested LoRA adapters are not loaded: flt-ghost');
  });
});
