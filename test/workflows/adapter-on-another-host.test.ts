// An adapter trained on one host, used on another that cannot see the trainer's disk: its folder is archived in the
// shared artifact store, and every consumer (a serving engine's load, embedded llama.cpp, a trainer continuing it)
// reads the store's copy, while the run keeps the path it recorded, so calls are cached under the same keys anywhere.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fineTuneCheckpointActivities } from '../../activities/fine-tune-checkpoints';
import { chatBackendOpener } from '../../activities/providers/gateway';
import { LlamaCppChat } from '../../activities/providers/llama-cpp-chat';
import { servingActivities } from '../../activities/serving';
import type { LlamaCppProviderConfig } from '../../core/config';
import type { CheckpointingBackendConfig } from '../../core/contracts';
import type { AdapterArchive, ChatRequest, ModelRef } from '../../core/types';
import { AdapterCopies, archiveAdapter } from '../../lib/adapter-archive';
import { LocalArtifactStore } from '../../lib/artifacts';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import type { FineTuneInput } from '../../workflows/fine-tune';
import { adapterFileName, fakeTrainerCommand, manifestFileName } from '../support/fake-lora-trainer';
import { doubleProvider, startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const baseGguf = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');

let dir: string;
let double: ProviderDouble;
let store: LocalArtifactStore;
/** The trainer's adapter folder, as the run recorded it; gone from this host once archived. */
let recorded: string;
/** A copy of that folder kept aside, to compare against. */
let kept: string;
let archive: AdapterArchive;

/** Every file below `root` with the hash of its bytes, by relative path. */
function filesOf(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const file = path.join(entry.parentPath, entry.name);
      files[path.relative(root, file)] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    }
  return files;
}

/** Another machine: its own home, the shared store. */
function host() {
  const home = fs.mkdtempSync(path.join(dir, 'host-'));
  const adapters = new AdapterCopies(store, path.join(home, 'adapters'));
  return { home, adapters, serving: servingActivities({ env: {}, adapters } as never) };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-adapter-host-'));
  store = new LocalArtifactStore(path.join(dir, 'shared-store'));
  recorded = path.join(dir, 'trainer-host', 'jobs', 'job-1', 'adapter');
  fs.mkdirSync(path.join(recorded, 'nested'), { recursive: true });
  writeLoraAdapter(baseGguf, path.join(recorded, adapterFileName), { ...defaultLoraSpec, seed: 'trained' });
  fs.writeFileSync(path.join(recorded, 'adapter_config.json'), '{"r": 8}\n');
  // Larger than one archive record (1 MiB), as a PEFT adapter's weights are.
  fs.writeFileSync(path.join(recorded, 'nested', 'weights.bin'), Buffer.alloc(2.5 * 2 ** 20, 7));
  fs.writeFileSync(path.join(recorded, 'empty'), '');
  kept = path.join(dir, 'kept');
  fs.cpSync(recorded, kept, { recursive: true });
  archive = await archiveAdapter(store, recorded, 'adapters/job-1');
  fs.rmSync(path.join(dir, 'trainer-host'), { recursive: true });
  double = await startProviderDouble();
});

afterAll(async () => {
  await double?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the archive holds every file byte for byte, and a name keeps its first archive', async () => {
  const copy = await host().adapters.localPath({ path: recorded, archive });
  expect(path.dirname(copy)).not.toBe(path.dirname(recorded));
  expect(filesOf(copy)).toEqual(filesOf(kept));
  // A retried poll archives again under the job's name: it gets the first archive back.
  const changed = path.join(dir, 'changed');
  fs.cpSync(kept, changed, { recursive: true });
  fs.writeFileSync(path.join(changed, 'late'), 'written after the first archive');
  expect((await archiveAdapter(store, changed, 'adapters/job-1')).ref).toEqual(archive.ref);
});

test('a path the run recorded outside the archived folder is not looked up in it', async () => {
  const elsewhere = path.join(dir, 'trainer-host', 'other', adapterFileName);
  expect(await host().adapters.localPath({ path: elsewhere, archive })).toBe(elsewhere);
});

test('a stored folder that is cut short or names a file outside itself is refused, and leaves no copy', async () => {
  const { home, adapters } = host();
  const data = Buffer.from('four').toString('base64');
  const cut = await store.writeJsonl([
    { file: 'adapter.gguf', size: 10 },
    { file: 'adapter.gguf', data },
  ]);
  const escaping = await store.writeJsonl([
    { file: '../outside', size: 4 },
    { file: '../outside', data },
  ]);
  const at = (ref: typeof cut) =>
    adapters.localPath({ path: path.join(recorded, 'adapter.gguf'), archive: { ref, root: recorded } });
  await expect(at(cut)).rejects.toMatchObject({
    nonRetryable: true,
    message: expect.stringMatching(/holds adapter.gguf short by 6 bytes/),
  });
  await expect(at(escaping)).rejects.toThrow(/names \.\.\/outside/);
  expect(fs.readdirSync(path.join(home, 'adapters'))).toEqual([]);
  expect(fs.existsSync(path.join(home, 'outside'))).toBe(false);
});

test('vLLM beside this worker is given its copy when so configured; the model keeps the recorded path', async () => {
  const { home, serving } = host();
  const providers = { served: doubleProvider(double.baseURL) };
  const adapter = { name: 'flt-remote', path: recorded, archive };
  // By default the engine is given the trainer's path, for an engine on the trainer's machine: not this one's.
  const onTrainer = { engine: 'vllm' as const, provider: 'served' };
  await expect(serving.serveAdapter({ providers, adapter, serving: onTrainer })).rejects.toThrow(/No adapter found/);

  const besideWorker = { ...onTrainer, adapterFrom: 'worker' as const };
  const model = await serving.serveAdapter({ providers, adapter, serving: besideWorker });
  expect(model).toMatchObject({ adapter, serving: besideWorker });
  const load = (await double.loraAdapters()).events.find((event) => event.name === 'flt-remote' && !event.error);
  expect(load?.path).toBe(path.join(home, 'adapters', archive.ref.sha256));
  expect(filesOf(load!.path!)).toEqual(filesOf(kept));
});

describe('embedded llama.cpp on a host without the trainer’s disk', () => {
  const config: LlamaCppProviderConfig = {
    kind: 'llama-cpp',
    modelPath: baseGguf,
    contextSize: 256,
    gpu: false,
    threads: 1,
    maxConcurrency: 1,
  };
  const request = (adapter: NonNullable<ModelRef['adapter']>): ChatRequest => ({
    model: adapter.name,
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
    temperature: 0,
    max_tokens: 4,
    logprobs: true,
    top_logprobs: 5,
    adapter,
  });

  test('the adapter is checked and applied from the store’s copy, answering as the trained file does', async () => {
    const { adapters, serving } = host();
    const model = await serving.serveAdapter({
      providers: {},
      adapter: { name: 'flt-remote', path: recorded, archive },
      serving: { engine: 'llama-cpp', provider: 'local' },
    });
    expect(model.adapter).toEqual({ name: 'flt-remote', path: path.join(recorded, adapterFileName), archive });

    const remote = await chatBackendOpener(adapters)(config, {});
    const local = new LlamaCppChat(config);
    try {
      const fromStore = await remote.complete(request(model.adapter!));
      const fromFile = await local.complete(request({ name: 'flt-remote', path: path.join(kept, adapterFileName) }));
      expect(fromStore.choices).toEqual(fromFile.choices);
    } finally {
      await remote.close?.();
      await local.close();
    }
  });
});

test('a trainer on another host continues the adapter from its copy; its epochs are listed on any host', async () => {
  const trainerHost = tempDeps({ ...process.env, FLT_BASE_GGUF: baseGguf });
  const deps = { ...trainerHost, store, adapters: new AdapterCopies(store, path.join(trainerHost.home, 'adapters')) };
  const client = await testClient();
  const worker = await testWorker(deps);
  try {
    await worker.run(async () => {
      const backend: CheckpointingBackendConfig = {
        kind: 'command',
        command: fakeTrainerCommand,
        provider: 'local',
        servedModel: 'adapter-{job}',
        pollIntervalSeconds: 0.1,
        serve: 'llama-cpp',
      };
      const input: FineTuneInput = {
        runId: `continue-${Date.now()}`,
        stage: 'evolve',
        backend,
        providers: {},
        baseModel: { provider: 'local', model: baseGguf },
        training: await deps.store.writeJsonl([{ messages: [{ role: 'user', content: 'hi' }] }]),
        hyperparameters: { epochs: 2 },
        initAdapter: path.join(recorded, adapterFileName),
        initAdapterArchive: archive,
      };
      const handle = await client.client.workflow.start('fineTune', {
        taskQueue: worker.taskQueue,
        workflowId: `${input.runId}-${input.stage}`,
        args: [input],
      });
      const model: ModelRef = await handle.result();
      const jobs = fs.readdirSync(deps.jobsDir).filter((job) => job.startsWith('flt-'));
      expect(jobs).toHaveLength(1);
      const manifest = JSON.parse(
        fs.readFileSync(path.join(deps.jobsDir, jobs[0]!, 'adapter', manifestFileName), 'utf8'),
      ) as { initAdapter: string };
      expect(manifest.initAdapter).toBe(path.join(deps.home, 'adapters', archive.ref.sha256, adapterFileName));
      // The new adapter is archived too, by its trainer's host, for the next host that needs it.
      const folder = path.join(deps.jobsDir, jobs[0]!, 'adapter');
      expect(model.adapter).toMatchObject({ path: path.join(folder, adapterFileName), archive: { root: folder } });
      expect(await store.lookup(`adapters/${jobs[0]}`)).toEqual(model.adapter!.archive!.ref);
      const stored = await store.readAll<{ file: string; size?: number }>(model.adapter!.archive!.ref);
      const listed = stored.filter((record) => record.size !== undefined).map((record) => record.file);
      expect(listed).toEqual(Object.keys(filesOf(folder)).sort());

      // SELF-GUIDE's list of the job's epoch adapters, made on the trainer's host and on a host without its disk.
      const { providers, stage, training, baseModel, hyperparameters, initAdapter } = input;
      const job = { providers, stage, training, baseModel: baseModel.model, hyperparameters, initAdapter };
      const listing = { ...job, backend, trainedAdapter: model.adapter };
      const onTrainer = await fineTuneCheckpointActivities(deps).fineTuneCheckpoints(listing);
      expect(onTrainer.map((m) => m.model)).toEqual([`${jobs[0]}-epoch-1`, `${jobs[0]}-epoch-2`]);
      const trainerEpochs = path.join(deps.jobsDir, jobs[0]!, 'checkpoints');
      const keptEpochs = path.join(dir, 'kept-epochs');
      fs.cpSync(trainerEpochs, keptEpochs, { recursive: true });
      fs.rmSync(trainerEpochs, { recursive: true });
      const elsewhere = { ...host(), store, jobsDir: path.join(dir, 'no-jobs-here') };
      const offTrainer = await fineTuneCheckpointActivities(elsewhere as never).fineTuneCheckpoints(listing);
      expect(offTrainer).toEqual(onTrainer);
      for (const [i, epoch] of offTrainer.entries()) {
        const trained = path.join(trainerEpochs, `epoch-${i + 1}`);
        expect(epoch.adapter).toMatchObject({ path: trained, archive: { root: trained } });
        const copy = await elsewhere.adapters.localPath(epoch.adapter!);
        expect(filesOf(copy)).toEqual(filesOf(path.join(keptEpochs, `epoch-${i + 1}`)));
      }
    });
  } finally {
    await client.close();
  }
});
