// A real S3-compatible server for tests: Versity Gateway (`versitygw posix`, installed by scripts/setup.sh into
// .tools/bin) on a free port over a temporary folder, with one access key and one bucket; stopped by `stop()`.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

function findVersityGateway(): string {
  const candidates = [path.join(projectRoot, '.tools', 'bin', 'versitygw')];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter))
    if (dir) candidates.push(path.join(dir, 'versitygw'));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error('versitygw is not installed: run `npm run setup` (needs Go) or put versitygw on PATH.');
  return found;
}

export async function startS3Server(bucket = 'flt-test'): Promise<S3Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-test-s3-'));
  const credentials = { accessKeyId: 'flt-test-access', secretAccessKey: 'flt-test-secret' };
  const root = path.join(dir, 'root');
  const sidecar = path.join(dir, 'meta');
  mkdirSync(root);
  mkdirSync(sidecar);
  const port = await freePort();
  const child = spawn(
    findVersityGateway(),
    [
      `--access=${credentials.accessKeyId}`,
      `--secret=${credentials.secretAccessKey}`,
      `--port=127.0.0.1:${port}`,
      'posix',
      // Object metadata beside the data rather than in extended attributes, which not every temporary folder has.
      `--sidecar=${sidecar}`,
      root,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VGW_QUIET: 'true' } },
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

  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  const client = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  // Ready once a bucket exists and an object can be written to it.
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
        throw new Error(`versitygw did not start: ${(err as Error).message}\n${log}`, { cause: err });
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
