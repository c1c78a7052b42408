// Payload encryption: the server stores only ciphertext; the codec (and only the right key) reads it back.
import { randomBytes } from 'node:crypto';
import { dataConverter, EncryptionCodec } from '../../lib/payload-codec';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const texts = (value: unknown, out: string[] = []): string[] => {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('latin1'));
  else if (Array.isArray(value)) value.forEach((v) => texts(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => texts(v, out));
  return out;
};

describe('payload encryption', () => {
  const key = randomBytes(32).toString('base64');

  it('round-trips payloads and refuses another key', async () => {
    const codec = new EncryptionCodec(Buffer.from(key, 'base64'));
    const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"secret":"plaintext"}') };
    const [encrypted] = await codec.encode([payload]);
    expect(Buffer.from(encrypted.data!).toString('latin1')).not.toContain('plaintext');
    const [decoded] = await codec.decode([encrypted]);
    expect(Buffer.from(decoded.data!).toString()).toBe('{"secret":"plaintext"}');
    await expect(new EncryptionCodec(randomBytes(32)).decode([encrypted])).rejects.toThrow(/encrypted with key/);
    expect(() => new EncryptionCodec(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('is off without FLT_PAYLOAD_KEY', () => {
    expect(dataConverter({})).toBeUndefined();
  });

  it('stores a real run encrypted, and a history read through the codec is plain again', async () => {
    const converter = dataConverter({ FLT_PAYLOAD_KEY: key })!;
    const deps = tempDeps();
    const training = await deps.store.writeJsonl([
      {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'Answer: A' },
        ],
      },
    ]);
    const worker = await testWorker(deps, { dataConverter: converter });
    const encrypted = await testClient({ dataConverter: converter });
    const plain = await testClient();
    const workflowId = `codec-${Date.now()}`;
    try {
      const result = await worker.run(() =>
        encrypted.client.workflow.execute('fineTune', {
          taskQueue: worker.taskQueue,
          workflowId,
          args: [
            {
              runId: 'codec-run-marker',
              stage: 'icl',
              backend: { kind: 'in-context', k: 1 },
              providers: {},
              baseModel: { provider: 'p', model: 'marker-model' },
              training,
              hyperparameters: {},
            },
          ],
        }),
      );
      expect(result.model).toBe('marker-model');
      const raw = texts(await plain.client.workflow.getHandle(workflowId).fetchHistory()).join('\n');
      expect(raw).toContain('binary/encrypted');
      expect(raw).not.toContain('codec-run-marker');
      expect(raw).not.toContain('marker-model');

      // Reading the same history through the codec gives the plaintext back.
      const history = await plain.client.workflow.getHandle(workflowId).fetchHistory();
      const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads!;
      const [decoded] = await new EncryptionCodec(Buffer.from(key, 'base64')).decode(
        input as Parameters<EncryptionCodec['decode']>[0],
      );
      expect(Buffer.from(decoded.data!).toString()).toContain('codec-run-marker');
    } finally {
      await encrypted.close();
      await plain.close();
    }
  });
});
