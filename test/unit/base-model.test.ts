import { fineTuneStart } from '../../core/base-model';

describe('what a fine-tune starts from', () => {
  const base = { provider: 'p', model: 'base-model' };
  const served = {
    provider: 'vllm',
    model: 'flt-warm',
    adapter: { name: 'flt-warm', path: '/jobs/flt-warm/adapter' },
  };

  it("continues a trained adapter from its file, on the base model's name", () => {
    expect(fineTuneStart('command', base, served)).toEqual({ baseModel: base, initAdapter: '/jobs/flt-warm/adapter' });
  });

  it('continues a configured adapter only with lora.continue, and trains on the model it adapts', () => {
    const lora = { path: '/adapters/mine', serve: 'vllm' as const, baseModel: 'meta/llama', continue: false };
    const configured = { provider: 'vllm', model: 'mine', adapter: { name: 'mine', path: '/adapters/mine' } };
    const adapted = { provider: 'vllm', model: 'meta/llama' };
    expect(fineTuneStart('command', { provider: 'vllm', model: 'mine', lora }, configured)).toEqual({
      baseModel: adapted,
    });
    expect(
      fineTuneStart('command', { provider: 'vllm', model: 'mine', lora: { ...lora, continue: true } }, configured),
    ).toEqual({ baseModel: adapted, initAdapter: '/adapters/mine' });
  });

  it("continues Together's and Fireworks' own fine-tuned M_warm by name; an endpoint by the model it serves", () => {
    const warm = { provider: 'p', model: 'acct/base-model-flt-warm' };
    expect(fineTuneStart('together', base, warm)).toEqual({ baseModel: base, initModel: 'acct/base-model-flt-warm' });
    expect(fineTuneStart('fireworks', base, warm)).toEqual({ baseModel: base, initModel: 'acct/base-model-flt-warm' });
    const endpoint = {
      provider: 'p',
      model: 'endpoint-name',
      endpoint: { id: 'e1', baseURL: 'https://x', apiKeyEnv: 'K', trainedModel: 'acct/base-model-flt-warm' },
    };
    expect(fineTuneStart('together', base, endpoint).initModel).toBe('acct/base-model-flt-warm');
    const deployment = {
      provider: 'p',
      model: 'accounts/a/models/flt-warm#accounts/a/deployments/d1',
      endpoint: {
        id: 'accounts/a/deployments/d1',
        baseURL: 'https://x',
        apiKeyEnv: 'K',
        fireworks: { model: 'accounts/a/models/flt-warm', ownsDeployment: true },
      },
    };
    expect(fineTuneStart('fireworks', base, deployment).initModel).toBe('accounts/a/models/flt-warm');
  });

  it('starts from M_base as it is, and hands other backends the model itself', () => {
    expect(fineTuneStart('together', base, base)).toEqual({ baseModel: base });
    const warm = { provider: 'p', model: 'ft:base-model:flt-warm' };
    expect(fineTuneStart('openai', base, warm)).toEqual({ baseModel: warm });
  });

  it('hands the in-context backend the model as called, without the demonstrations it carries', () => {
    const pool = { key: 'k', count: 3 } as never;
    const withDemonstrations = { ...served, demonstrations: { pool, k: 2 } };
    expect(fineTuneStart('in-context', base, withDemonstrations)).toEqual({ baseModel: served });
  });
});
