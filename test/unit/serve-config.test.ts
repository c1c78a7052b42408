// The command fine-tune backend's `serve` option: the engines it names, and absent meaning `none` (runs recorded
// before the option existed carry no such field).
import { fineTuneBackendSchema } from '../../core/config';

const command = { kind: 'command', command: 'train.sh', provider: 'local-vllm' };

describe('fine-tune backend `serve`', () => {
  it.each(['vllm', 'sglang', 'llama-cpp', 'llama-cpp-server', 'none'])('accepts %s', (serve) => {
    expect(fineTuneBackendSchema.parse({ ...command, serve })).toMatchObject({ serve });
  });

  it('is absent unless set, which serves nothing', () => {
    expect(fineTuneBackendSchema.parse(command)).not.toHaveProperty('serve');
  });

  it('rejects an engine it does not know, naming the ones it does', () => {
    const result = fineTuneBackendSchema.safeParse({ ...command, serve: 'tgi' });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('llama-cpp-server');
  });
});
