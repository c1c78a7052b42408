// What each fine-tune backend receives for a SELF-GUIDE training set: the gold examples stay in the chat as context,
// but only the final answer is trained on, in each provider's own terms.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFineTuneBackend } from '../../activities/providers/finetune/backend';
import type { FineTuneBackendConfig, ProvidersConfig } from '../../core/config';
import { trainingSet } from '../../core/selfguide-prompts';
import { startProviderDouble } from '../support/provider-double';

type Double = Awaited<ReturnType<typeof startProviderDouble>>;
type Message = { role: string; content: string; weight?: number };

const task = {
  instruction: 'Answer yes or no.',
  examples: [
    { input: 'gold one', output: 'yes' },
    { input: 'gold two', output: 'no' },
  ],
};

let dbl: Double;
let workDir: string;
let trainingPath: string;
let sha256: string;

const providers = (): ProvidersConfig => ({
  double: {
    kind: 'openai-compatible',
    baseURL: dbl.baseURL,
    apiKeyEnv: 'FLT_TEST_KEY',
    testDouble: true,
    requestTimeoutSeconds: 10,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
    maxConcurrency: 4,
  },
});

async function received(
  config: Exclude<FineTuneBackendConfig, { kind: 'in-context' }>,
  contentURL: (id: string) => string,
): Promise<Message[][]> {
  const backend = createFineTuneBackend(config, providers(), { workDir, env: { FLT_TEST_KEY: 'k' } });
  const id = await backend.uploadTrainingFile({
    tag: { runId: 'sg-files', stage: config.kind },
    localPath: trainingPath,
    sha256,
  });
  const text =
    config.kind === 'command'
      ? fs.readFileSync(id, 'utf8')
      : await (await fetch(contentURL(id), { headers: { Authorization: 'Bearer k' } })).text();
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { messages: Message[] }).messages);
}

/** Each message as role and weight ("-" when it carries none). */
const weights = (messages: Message[]) => messages.map((m) => `${m.role}:${m.weight ?? '-'}`);

beforeAll(async () => {
  dbl = await startProviderDouble({ apiKey: 'k' });
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-sg-files-'));
  trainingPath = path.join(workDir, 'training.jsonl');
  const { examples } = trainingSet(task, [{ input: 'new', output: 'yes' }], 2000);
  fs.writeFileSync(trainingPath, examples.map((e) => `${JSON.stringify(e)}\n`).join(''));
  sha256 = createHash('sha256').update(fs.readFileSync(trainingPath)).digest('hex');
});

afterAll(async () => {
  await dbl?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

test('OpenAI gets weight 0 on the gold answers and 1 on the final one, on assistant messages only', async () => {
  const [messages] = await received(
    { kind: 'openai', provider: 'double', pollIntervalSeconds: 1 },
    (id) => `${dbl.baseURL}/files/${id}/content`,
  );
  expect(weights(messages)).toEqual([
    'system:-',
    'user:-',
    'assistant:0',
    'user:-',
    'assistant:0',
    'user:-',
    'assistant:1',
  ]);
});

test('Together gets weight 0 on every message but the final answer: any weight makes it train on inputs', async () => {
  const [messages] = await received(
    {
      kind: 'together',
      baseURL: dbl.togetherBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      provider: 'double',
      pollIntervalSeconds: 1,
    },
    (id) => `${dbl.togetherBaseURL}/files/${id}/content`,
  );
  expect(weights(messages)).toEqual([
    'system:0',
    'user:0',
    'assistant:0',
    'user:0',
    'assistant:0',
    'user:0',
    'assistant:1',
  ]);
  expect(messages.map((m) => m.content)).toEqual([
    'Answer yes or no.',
    'gold one',
    'yes',
    'gold two',
    'no',
    'new',
    'yes',
  ]);
});

test("the command backend's FLT_TRAIN_FILE is the training set as written (LLaMA-Factory masks history)", async () => {
  const [messages] = await received(
    { kind: 'command', command: 'true', provider: 'double', servedModel: '{job}', pollIntervalSeconds: 1 },
    (id) => id,
  );
  expect(weights(messages)).toEqual([
    'system:-',
    'user:-',
    'assistant:0',
    'user:-',
    'assistant:0',
    'user:-',
    'assistant:1',
  ]);
});
