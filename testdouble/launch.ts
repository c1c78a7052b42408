// Starts the provider test double (testdouble/server.ts) as a child process, for tests and the demo, and
// wraps its /_admin API.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnTs } from '../lib/ts-process';
import type { DoubleConfig, DoubleConfigPatch } from './config';
import type { GoldItem } from './gold-index';
import type { LoadedAdapter, LoraEvent } from './lora-adapters';
import type { HeldRequests } from './model-call-gate';
import type { RequestLogEntry } from './request-log';
import type { ServedRange } from './checkpoint-archives';
import type { EndpointState } from './together-endpoints';

export type { DoubleConfig, DoubleConfigPatch, FaultConfig, FaultKind } from './config';
export type { GoldItem } from './gold-index';
export type { LoadedAdapter, LoraEvent } from './lora-adapters';
export type { RequestLogEntry } from './request-log';

export interface TogetherEndpointView {
  id: string;
  name: string;
  displayName: string;
  model: string;
  state: EndpointState;
}

export interface CheckpointArchiveView {
  jobId: string;
  /** `adapter`, `merged` or `step-N`. */
  key: string;
  size: number;
  /** sha256 of each file in the archive, by name. */
  files: Record<string, string>;
  /** Every response of the archive's storage route, in order. */
  served: ServedRange[];
}

export interface FireworksDeploymentsView {
  /** Every deployment created so far, oldest first, and its state now (`DELETED` once gone). */
  deployments: { name: string; state: string }[];
  /** The LoRAs loaded onto deployments now. */
  deployedModels: { name: string; model: string; deployment: string; state: string }[];
}

export interface StartProviderDoubleOptions {
  /** When set, every provider request must send `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** Deep-merged over the defaults before the server starts. */
  config?: DoubleConfigPatch;
  gold?: GoldItem[];
}

export interface ProviderDouble {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + '/v1': the OpenAI-compatible API. */
  baseURL: string;
  /** url + '/together/v1': the Together AI API. */
  togetherBaseURL: string;
  /** url + '/fireworks/v1': the Fireworks AI gateway API. */
  fireworksBaseURL: string;
  /** url + '/fireworks/inference/v1': Fireworks' OpenAI-compatible inference API. */
  fireworksInferenceURL: string;
  /** Deep-merges the patch into the running config; resolves to the whole config. */
  configure(patch: DoubleConfigPatch): Promise<DoubleConfig>;
  /** Replaces all gold items. */
  setGold(items: GoldItem[]): Promise<void>;
  requests(): Promise<RequestLogEntry[]>;
  clearRequests(): Promise<void>;
  /**
   * From now on model calls (chat, embeddings; only those naming `which.model` if given), or the requests `which`
   * names, wait in the double until `releaseModelCalls`.
   */
  holdModelCalls(which?: HeldRequests): Promise<void>;
  /** Lets every held model call proceed and stops holding new ones. */
  releaseModelCalls(): Promise<void>;
  /** Resolves once at least `count` model calls are held. */
  waitForHeldModelCalls(count: number): Promise<void>;
  /** How many model calls are held now. */
  heldModelCalls(): Promise<number>;
  /** The LoRA adapters loaded through the vLLM or SGLang routes, and every load, unload and restart so far. */
  loraAdapters(): Promise<{ loaded: LoadedAdapter[]; events: LoraEvent[] }>;
  /** From now on LoRA loads (vLLM's and SGLang's) wait in the double until `releaseLoraLoads`. */
  holdLoraLoads(): Promise<void>;
  /** Lets every held load proceed (each takes effect, whether or not its client still waits) and holds no more. */
  releaseLoraLoads(): Promise<void>;
  /** Resolves once at least `count` loads are held. */
  waitForHeldLoraLoads(count: number): Promise<void>;
  /** Simulates a restart of the serving server: every loaded adapter is forgotten. Resolves to how many were. */
  restartLoraServing(): Promise<number>;
  /** Together's dedicated endpoints, oldest first, with the state each is in now. */
  togetherEndpoints(): Promise<TogetherEndpointView[]>;
  /** Fireworks deployments and the LoRAs loaded onto them. */
  fireworksDeployments(): Promise<FireworksDeploymentsView>;
  /** The Together checkpoint archives asked for so far, and every byte range served of each. */
  togetherCheckpoints(): Promise<CheckpointArchiveView[]>;
  /** From now on checkpoint downloads stop at their halfway point until `releaseDownloads`. */
  holdDownloads(): Promise<void>;
  releaseDownloads(): Promise<void>;
  /** Resolves once at least `count` downloads wait at their halfway point. */
  waitForHeldDownloads(count: number): Promise<void>;
  /**
   * Moves a batch (OpenAI's, or Together's) one status on (validating, in_progress, finalizing, then an end), as its
   * clock would with `batches.stepMs`; resolves to its status after the step, in that provider's words.
   */
  advanceBatch(id: string, provider?: 'openai' | 'together'): Promise<string>;
  /** Stops the server and waits for the process to exit. */
  stop(): Promise<void>;
}

const repoRoot = path.resolve(__dirname, '..');
const startTimeoutMs = 30_000;
const stopTimeoutMs = 5_000;

async function admin<T>(url: string, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/_admin/${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`provider test double: ${method} /_admin/${route} failed with ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export async function startProviderDouble(options: StartProviderDoubleOptions = {}): Promise<ProviderDouble> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provider-double-'));
  const args = [path.join(repoRoot, 'testdouble', 'server.ts'), '--port', '0'];
  if (options.apiKey !== undefined) args.push('--api-key', options.apiKey);
  if (options.config) {
    const configPath = path.join(tempDir, 'config.json');
    fs.writeFileSync(configPath, JSON.stringify(options.config));
    args.push('--config', configPath);
  }
  if (options.gold) {
    const goldPath = path.join(tempDir, 'gold.jsonl');
    fs.writeFileSync(goldPath, options.gold.map((item) => JSON.stringify(item)).join('\n'));
    args.push('--gold', goldPath);
  }

  const [script, ...rest] = args;
  const child = spawnTs(script, rest, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      // A double that dies under a test leaves only connection errors behind: say why, where the test's output is.
      if (!stopping) console.error(`provider test double exited (code ${code}, signal ${signal}):\n${stderr}`);
      resolve();
    }),
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-10_000);
  });

  const cleanUp = () => fs.rmSync(tempDir, { recursive: true, force: true });
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(
        () => reject(new Error(`provider test double did not start within ${startTimeoutMs} ms\n${stderr}`)),
        startTimeoutMs,
      );
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const line = stdout.split('\n').find((l) => l.startsWith('{"listening"'));
        if (!line) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { listening: string }).listening);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`provider test double exited with code ${code} before listening\n${stderr}`));
      });
    });
  } catch (error) {
    stopping = true;
    child.kill('SIGKILL');
    await exited;
    cleanUp();
    throw error;
  }

  return {
    url,
    baseURL: `${url}/v1`,
    togetherBaseURL: `${url}/together/v1`,
    fireworksBaseURL: `${url}/fireworks/v1`,
    fireworksInferenceURL: `${url}/fireworks/inference/v1`,
    configure: (patch) => admin<DoubleConfig>(url, 'POST', 'config', patch),
    setGold: async (items) => {
      await admin(url, 'DELETE', 'gold');
      await admin(url, 'POST', 'gold', { items });
    },
    requests: () => admin<RequestLogEntry[]>(url, 'GET', 'requests'),
    clearRequests: async () => {
      await admin(url, 'DELETE', 'requests');
    },
    holdModelCalls: async (which = {}) => {
      await admin(url, 'POST', 'hold', which);
    },
    releaseModelCalls: async () => {
      await admin(url, 'POST', 'release');
    },
    waitForHeldModelCalls: async (count) => {
      await admin(url, 'GET', `held?count=${count}`);
    },
    heldModelCalls: async () => (await admin<{ held: number }>(url, 'GET', 'held?count=0')).held,
    loraAdapters: () => admin(url, 'GET', 'lora'),
    holdLoraLoads: async () => {
      await admin(url, 'POST', 'lora/hold');
    },
    releaseLoraLoads: async () => {
      await admin(url, 'POST', 'lora/release');
    },
    waitForHeldLoraLoads: async (count) => {
      await admin(url, 'GET', `lora/held?count=${count}`);
    },
    restartLoraServing: async () => (await admin<{ forgotten: number }>(url, 'POST', 'lora/restart')).forgotten,
    togetherEndpoints: () => admin(url, 'GET', 'together/endpoints'),
    togetherCheckpoints: () => admin(url, 'GET', 'together/checkpoints'),
    fireworksDeployments: () => admin(url, 'GET', 'fireworks/deployments'),
    holdDownloads: async () => {
      await admin(url, 'POST', 'downloads/hold', { paths: '^/together-storage/' });
    },
    releaseDownloads: async () => {
      await admin(url, 'POST', 'downloads/release');
    },
    waitForHeldDownloads: async (count) => {
      await admin(url, 'GET', `downloads/held?count=${count}`);
    },
    advanceBatch: async (id, provider = 'openai') => {
      const route = `${provider === 'together' ? 'together/' : ''}batches/${encodeURIComponent(id)}/advance`;
      return (await admin<{ status: string }>(url, 'POST', route)).status;
    },
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }
      cleanUp();
    },
  };
}
