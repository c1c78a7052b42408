// A real S3-compatible server for tests: SeaweedFS (`weed server -filer -s3`, installed by scripts/setup.sh into
// .tools/bin) on free ports, a temporary data folder and one access key, with one bucket; stopped by `stop()`.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../lib/dev-server';

const projectRoot = path.resolve(__dirname, '../..');
const startTimeoutMs = 90_000;

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** The standard AWS variables that reach this server, for a worker's or the CLI's environment. */
  env: Record<'AWS_ENDPOINT_URL_S3' | 'AWS_REGION' | 'AWS_ACCESS_KEY_ID' | 'AWS_SECRET_ACCESS_KEY', string>;
  /** A client of this server, for tests that look at or damage the bucket directly. */
  client: S3Client;
  stop(): Promise<void>;
}

function findWeed(): string {
  const candidates = [path.join(projectRoot, '.tools', 'bin', 'weed')];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'weed'));
  const weed = candidates.find((c) => existsSync(c));
  if (!weed)
    throw new Error('SeaweedFS (`weed`) is not installed: run `npm run setup` (needs Go) or put `weed` on PATH.');
  return weed;
}

export async function startS3Server(bucket = 'flt-test'): Promise<S3Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-test-s3-'));
  const credentials = { accessKeyId: 'flt-test-access', secretAccessKey: 'flt-test-secret' };
  const config = path.join(dir, 's3.json');
  writeFileSync(
    config,
    JSON.stringify({
      identities: [
        {
          name: 'flt-test',
          credentials: [{ accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  // A port freed by one freePort() can come back from the next: draw until eight differ.
  const drawn = new Set<number>();
  while (drawn.size < 8) drawn.add(await freePort());
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = drawn;
  const ports = { master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc };
  const child = spawn(
    findWeed(),
    [
      'server',
      `-dir=${dir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      '-filer',
      '-s3',
      `-s3.config=${config}`,
      '-s3.autoCreateBucket=false', // a missing bucket is an error, as on AWS
      `-master.port=${ports.master}`,
      `-master.port.grpc=${ports.masterGrpc}`,
      '-master.volumeSizeLimitMB=64',
      '-master.telemetry=false',
      `-volume.port=${ports.volume}`,
      `-volume.port.grpc=${ports.volumeGrpc}`,
      `-filer.port=${ports.filer}`,
      `-filer.port.grpc=${ports.filerGrpc}`,
      `-s3.port=${ports.s3}`,
      `-s3.port.grpc=${ports.s3Grpc}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${ports.s3}`;
  const region = 'us-east-1';
  const client = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  // Ready once a bucket exists and an object can be written to it (the volume server has joined the master).
  const deadline = Date.now() + startTimeoutMs;
  for (let created = false; ;) {
    try {
      if (!created)
        await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: Error) => {
          if (err.name !== 'BucketAlreadyOwnedByYou') throw err; // an earlier try got through
        });
      created = true;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'ready', Body: 'ready' }));
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`SeaweedFS did not start: ${(err as Error).message}\n${log}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  return {
    endpoint,
    bucket,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    client,
    stop,
  };
}
