// A shard's response cache in S3 (a real versitygw server) against the provider test double: an attempt that fails
// after some of its calls finished is retried on another host, with its own empty FLT_HOME, and pays none of them
// again; two attempts of one shard saving at the same time keep both their segments.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivityDeps } from '../../activities/context';
import { ModelGateway } from '../../activities/providers/gateway';
import { ShardCalls } from '../../activities/shard-calls';
import type { ProvidersConfig } from '../../core/config';
import { defaultArtifactStore } from '../../lib/artifacts';
import { AdapterCopies } from '../../lib/adapter-archive';
import { ResponseCache } from '../../lib/response-cache';
import { ShardResponseCache } from '../../lib/shard-response-cache';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { startS3Server, type S3Server } from '../support/s3-server';

let s3: S3Server;
let double: ProviderDouble;
let providers: ProvidersConfig;
const root = () => `s3://${s3.bucket}/shards-${process.pid}`;

beforeAll(async () => {
  [s3, double] = await Promise.all([startS3Server(), startProviderDouble()]);
  providers = {
    double: {
      kind: 'openai-compatible',
      baseURL: double.baseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      testDouble: true,
      requestTimeoutSeconds: 30,
      prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 1, trainingPerMillionTokens: 0 },
      maxConcurrency: 4,
    },
  };
});
afterAll(async () => Promise.all([s3?.stop(), double?.stop()]));

/** A worker on its own machine: its own FLT_HOME, the shared bucket; shards save only when they end. */
function host(): ActivityDeps {
  const env = { ...s3.env, FLT_ARTIFACT_ROOT: root(), FLT_HOME: mkdtempSync(path.join(os.tmpdir(), 'flt-host-')) };
  const store = defaultArtifactStore(env);
  const hostCache = new ResponseCache(path.join(env.FLT_HOME, 'response-cache'));
  return {
    store,
    gateway: new ModelGateway(hostCache, { FLT_TEST_KEY: 'k' }),
    jobsDir: env.FLT_HOME,
    adapters: new AdapterCopies(store, path.join(env.FLT_HOME, 'adapters')),
    env,
    shardCache: (shard) => new ShardResponseCache(store, shard, hostCache, Infinity),
  };
}

/** Every attempt of one shard activity execution: the same run and activity id. */
const attemptOf = (activityId: string) => ({
  cancellationSignal: new AbortController().signal,
  heartbeat: () => undefined,
  info: { activityId, workflowExecution: { workflowId: 'w', runId: `r-${process.pid}` } },
});
const model = { provider: 'double', model: 'sim-model' };
const ask = (question: string) => ({ messages: [{ role: 'user' as const, content: question }], max_tokens: 8 });
const chatCalls = async () => (await double.requests()).filter((r) => r.path.endsWith('/chat/completions')).length;

it('a shard retried on another host replays every call its failed attempt finished, counted as its own', async () => {
  const questions = ['q1', 'q2', 'q3', 'q4', 'q5'];
  const first = new ShardCalls(host(), providers, 'collaborate', questions.length + 1, attemptOf('7'));
  const finished: Promise<unknown>[] = [];
  const attempt = first.forEach([...questions, 'lost'], (question) => {
    if (question !== 'lost') {
      const answer = first.chat(model, ask(question), question);
      finished.push(answer);
      return answer;
    }
    // The attempt fails once its other calls have finished (as when its worker loses the server).
    return Promise.all(finished).then(() => Promise.reject(new Error('the attempt was lost')));
  });
  await expect(attempt).rejects.toThrow('the attempt was lost');
  const paidByFirst = await chatCalls();
  expect(paidByFirst).toBe(5);

  const retry = new ShardCalls(host(), providers, 'collaborate', questions.length + 1, attemptOf('7'));
  await retry.forEach([...questions, 'q6'], (question) => retry.chat(model, ask(question), question));
  expect((await chatCalls()) - paidByFirst).toBe(1); // only q6
  // Its own execution paid for the five: counted as paid, once, not as cached.
  expect(retry.usage).toMatchObject({ calls: 6, cachedCalls: 0 });

  // One object per save of the shard's calls: one for the failed attempt, one for the retry.
  const listed = await s3.client.send(
    new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `shards-${process.pid}/names/response-cache/` }),
  );
  expect(listed.Contents?.map((o) => path.basename(o.Key!))).toEqual(['00000.json', '00001.json']);
});

it('two attempts of one shard saving at once each keep their segment, and a third attempt reads both', async () => {
  const [a, b, c] = [host(), host(), host()];
  const hostCache = () => new ResponseCache(mkdtempSync(path.join(os.tmpdir(), 'flt-host-cache-')));
  const attemptA = new ShardResponseCache(a.store, 'run/8', hostCache(), Infinity);
  const attemptB = new ShardResponseCache(b.store, 'run/8', hostCache(), Infinity);
  await attemptA.set('key-a', { answer: 'A' });
  await attemptB.set('key-b', { answer: 'B' });
  await Promise.all([attemptA.save(), attemptB.save()]);
  const attemptC = new ShardResponseCache(c.store, 'run/8', hostCache(), Infinity);
  expect(await attemptC.get('key-a')).toEqual({ answer: 'A' });
  expect(await attemptC.get('key-b')).toEqual({ answer: 'B' });
});
