// SemiEvol end to end with the artifact store and the response cache in S3 (a real versitygw server): the CLI and two
// worker processes, each with its own FLT_HOME as separate machines would have, share nothing on disk.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { defaultArtifactStore } from '../../lib/artifacts';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { fpbSampleRun } from '../support/fpb-sample';
import type { ProviderDouble } from '../support/provider-double';
import { startS3Server, type S3Server } from '../support/s3-server';
import { temporalAddress } from '../support/temporal';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
/** Small splits: the first rows of the bundled sample (two lines per row in these files). */
const splits = { labeled: 10, unlabeled: 24, test: 12 };

describe('SemiEvol with FLT_ARTIFACT_ROOT=s3://', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-s3-e2e-'));
  const homes = {
    cli: path.join(dir, 'cli'),
    workerA: path.join(dir, 'worker-a'),
    workerB: path.join(dir, 'worker-b'),
  };
  let s3: S3Server;
  let double: ProviderDouble;
  const workers: ChildProcess[] = [];
  let env: NodeJS.ProcessEnv;
  let config: string;
  const flt = (...args: string[]) =>
    run(process.execPath, tsArgs(path.join(root, 'client.ts'), args), {
      env: { ...env, FLT_HOME: homes.cli },
      cwd: root,
    });

  beforeAll(async () => {
    s3 = await startS3Server();
    let data: Record<string, { format: string; path: string }>;
    ({ data, double } = await fpbSampleRun(dir, splits));
    env = {
      ...process.env,
      ...s3.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      FLT_TASK_QUEUE: `s3-e2e-${process.pid}`,
      FLT_ARTIFACT_ROOT: `s3://${s3.bucket}/e2e`,
      FLT_S3_KEY: 'k',
    };
    for (const home of [homes.workerA, homes.workerB])
      workers.push(
        spawnTs(path.join(root, 'worker.ts'), [], { env: { ...env, FLT_HOME: home }, cwd: root, stdio: 'ignore' }),
      );
    config = path.join(dir, 'semievol.yaml');
    writeFileSync(
      config,
      stringify({
        method: 'semievol',
        task: 'fpb-s3',
        providers: {
          double: {
            kind: 'openai-compatible',
            baseURL: double.baseURL,
            apiKeyEnv: 'FLT_S3_KEY',
            testDouble: true,
            prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 1, trainingPerMillionTokens: 1 },
          },
        },
        model: { provider: 'double', model: 'sim-model' },
        data,
        fineTune: { backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.3 } },
        execution: { shardSize: 4, parallelShards: 2 },
      }),
    );
  });

  afterAll(async () => {
    for (const worker of workers) {
      if (worker.exitCode === null) worker.kill('SIGTERM');
      await new Promise((resolve) => (worker.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    }
    await double?.stop();
    await s3?.stop();
  });

  it('runs every stage with the store and the response cache in the bucket, paying each call once', async () => {
    const runId = `s3-e2e-${Date.now()}`;
    await flt('run', config, '--id', runId, '--wait');
    const result = JSON.parse((await flt('result', runId, '--json')).stdout);
    expect(result.evaluations.semievol.score.total).toBe(splits.test);

    // Paid once: the calls the double answered are the calls the run counts as paid.
    const answered = (await double.requests()).filter((r) => r.status === 200 && /\/chat\/completions$/.test(r.path));
    expect(result.usage.calls).toBe(answered.length);

    // Nothing was kept in a local folder that another machine would have needed.
    for (const home of Object.values(homes)) expect(existsSync(path.join(home, 'artifacts'))).toBe(false);
    const store = defaultArtifactStore({ ...env, FLT_HOME: mkdtempSync(path.join(dir, 'reader-')) });
    expect(await store.lookup(`runs/${runId}/inputs`)).not.toBeNull();
    const selected = await store.lookup(`runs/${runId}/select/selected`);
    expect(selected).not.toBeNull();
    expect((await store.readAll(selected!)).length).toBe(selected!.count);

    // The response cache is one object per shard's calls (saved at the shard's end, or every few seconds), not one
    // per call.
    const listed = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'e2e/names/response-cache/' }),
    );
    const segments = listed.Contents?.length ?? 0;
    expect(segments).toBeGreaterThan(0);
    expect(segments).toBeLessThan(answered.length / 2);
  });
});
