// Reads a run config (YAML or JSON) and reports the first problem as one sentence with file, line and field.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { checkReferences, type EvaluatedModelSpec, type ProvidersConfig } from '../core/config';
import { downloadProvider } from '../core/contracts';
import { runConfigSchema, type RunConfig } from '../core/run-config';
import type { SelfGuideRunConfig } from '../core/selfguide-config';
import type { SemievolRunConfig } from '../core/semievol-config';
import { DatasetError, readRegularFile } from './datasets';

/** A config is a few kilobytes; a larger file is not one (and is never read whole into memory). */
const maxConfigBytes = 1024 * 1024;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function fieldName(fieldPath: (string | number | symbol)[]): string {
  return (
    fieldPath.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') ||
    '(top level)'
  );
}

export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `has unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union' && 'discriminator' in issue)
    return `${issue.message.replace(/^Invalid input/, 'is not valid')}`;
  return issue.message.replace(/^Invalid input: expected/, 'expected');
}

/**
 * Loads and validates a run config; relative dataset and model paths are resolved against the config's folder, and a
 * llama.cpp model file must exist.
 */
export function loadRunConfig(file: string): RunConfig {
  let text: string;
  try {
    text = readRegularFile(file, maxConfigBytes, { noun: 'config' }).toString('utf8');
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    throw new ConfigError(err.message.replace(/: cannot be read \(/, ': cannot read the config file ('));
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = lineCounter.linePos(e.pos[0]).line;
    throw new ConfigError(`${file} line ${line}: not valid YAML or JSON (${e.message.split('\n')[0]}).`);
  }
  const lineOf = (fieldPath: (string | number | symbol)[]): number | null => {
    for (let n = fieldPath.length; n >= 0; n--) {
      const node = doc.getIn(fieldPath.slice(0, n) as (string | number)[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return null;
  };
  const where = (fieldPath: (string | number | symbol)[]) => {
    const line = lineOf(fieldPath);
    return `${file}${line ? ` line ${line}` : ''}: field "${fieldName(fieldPath)}"`;
  };

  const parsed = runConfigSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const line = lineOf(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path);
    throw new ConfigError(
      `${file}${line ? ` line ${line}` : ''}: field "${fieldName(issue.path)}" ${issueMessage(issue)}.`,
    );
  }
  const problem = checkReferences(parsed.data)[0];
  if (problem) throw new ConfigError(`${where(problem.path)} ${problem.message}.`);

  const config = parsed.data;
  const base = path.dirname(path.resolve(file));
  resolvePaths(config.data, base);
  for (const [name, p] of Object.entries(config.providers)) {
    if (p.kind !== 'llama-cpp') continue;
    p.modelPath = path.resolve(base, p.modelPath);
    // Checked here, where the datasets are read too, rather than when the first model call fails on the worker.
    const problem = modelFileProblem(p.modelPath);
    if (problem) throw new ConfigError(`${where(['providers', name, 'modelPath'])} names ${p.modelPath}, ${problem}.`);
  }
  const adapterProblem = configuredLoraProblems(config, base)[0];
  if (adapterProblem) throw new ConfigError(`${where(adapterProblem.path)} ${adapterProblem.message}.`);
  const downloadProblem = downloadServerProblem(config);
  if (downloadProblem) throw new ConfigError(`${where(downloadProblem.path)} ${downloadProblem.message}.`);
  return config;
}

type Problem = { path: (string | number)[]; message: string };

/** Why a llama.cpp model path cannot be loaded, if it plainly cannot: nothing there, or a folder. */
function modelFileProblem(file: string): string | null {
  if (!existsSync(file)) return 'which does not exist';
  return statSync(file).isDirectory() ? 'which is a folder, not a GGUF model file' : null;
}

/** Every model of the config that may name an adapter trained elsewhere (`lora`), checked as below. */
function configuredLoraProblems(config: RunConfig, base: string): Problem[] {
  if (config.method === 'evaluate')
    return config.models.flatMap((model, i) => adapterProblems(config.providers, model, ['models', i], base));
  if (config.method !== 'semievol' && config.method !== 'selfguide') return [];
  const adapter = adapterProblems(config.providers, config.model, ['model'], base);
  const lora = config.model.lora;
  if (adapter.length || !lora) return adapter;
  const backend = config.fineTune.backend.kind;
  if (lora.continue && backend !== 'command')
    return [
      {
        path: ['model', 'lora', 'continue'],
        message:
          'asks to continue the adapter, which only the command fine-tune backend can (FLT_INIT_ADAPTER), ' +
          `but fineTune.backend is ${backend}`,
      },
    ];
  const fullWeights = fullFineTuneField(config);
  if (lora.continue && fullWeights)
    return [
      {
        path: ['model', 'lora', 'continue'],
        message: `continues a LoRA adapter, but ${fullWeights} is false (full fine-tuning); set it to true`,
      },
    ];
  if (!lora.baseModel && backend !== 'in-context')
    return [
      {
        path: ['model', 'lora', 'baseModel'],
        message:
          `is required: a ${backend} fine-tune trains the model the adapter adapts, ` +
          `which its served name "${config.model.model}" does not say`,
      },
    ];
  return [];
}

/** The field that asks a SemiEvol or SELF-GUIDE run's fine-tunes for full weights rather than LoRA, if one does. */
function fullFineTuneField(config: SemievolRunConfig | SelfGuideRunConfig): string | null {
  if (config.method === 'selfguide') return config.fineTune.lora ? null : 'fineTune.lora';
  if (config.fineTune.hyperparameters?.lora === false) return 'fineTune.hyperparameters.lora';
  return config.fineTune.finalHyperparameters?.lora === false ? 'fineTune.finalHyperparameters.lora' : null;
}

/**
 * A model's `lora` (resolved here against the config's folder) must exist, and be served by an engine its provider
 * can be: embedded llama.cpp by a llama-cpp provider, the servers by an openai-compatible one with their baseURL.
 */
function adapterProblems(
  providers: ProvidersConfig,
  model: EvaluatedModelSpec,
  at: (string | number)[],
  base: string,
): Problem[] {
  if (!model.lora) return [];
  model.lora.path = path.resolve(base, model.lora.path);
  if (!existsSync(model.lora.path))
    return [{ path: [...at, 'lora', 'path'], message: `names ${model.lora.path}, which does not exist` }];
  const provider = providers[model.provider];
  const embedded = model.lora.serve === 'llama-cpp';
  if (embedded && provider.kind !== 'llama-cpp')
    return [
      {
        path: [...at, 'lora', 'serve'],
        message: `is llama-cpp, which needs a llama-cpp provider, but "${model.provider}" is ${provider.kind}`,
      },
    ];
  if (!embedded && (provider.kind !== 'openai-compatible' || !provider.baseURL))
    return [
      {
        path: [...at, 'lora', 'serve'],
        message:
          `is ${model.lora.serve}, which needs an openai-compatible provider with the server's baseURL, ` +
          `but "${model.provider}" has none`,
      },
    ];
  return [];
}

/**
 * A Together checkpoint downloaded for local serving (`serve: download`) is called through an openai-compatible
 * provider with a baseURL, known before the job is paid for: your own vLLM or SGLang's for an adapter, or that of the
 * servers the run starts on merged checkpoints. Each merged model gets a server on a port of its own, so a run that
 * serves more of them than `server.ports` lists (the provider's one port when absent) is refused.
 */
function downloadServerProblem(config: RunConfig): { path: string[]; message: string } | null {
  const backend = 'fineTune' in config ? config.fineTune.backend : undefined;
  if (backend?.kind !== 'together' || backend.serve !== 'download' || !backend.download) return null;
  const { download } = backend;
  const at = ['fineTune', 'backend', 'download'];
  const name = downloadProvider(download);
  const provider = config.providers[name];
  if (provider?.kind !== 'openai-compatible' || !provider.baseURL)
    return {
      path: download.server ? [...at, 'server', 'provider'] : [...at, 'provider'],
      message:
        `names "${name}", which must be an openai-compatible provider with the baseURL of ` +
        (download.server ? 'the server the run starts' : `your ${download.engine} server`),
    };
  if (!download.server) return null;
  if (config.method === 'selfguide-campaign')
    return {
      path: [...at, 'checkpoint'],
      message:
        'is merged, but a SELF-GUIDE campaign serves a model per branch at once, and only SemiEvol and SELF-GUIDE ' +
        'runs assign merged models their ports (server.ports)',
    };
  const twoModels =
    config.method === 'semievol' && !config.semievol.without.includes('in-weight-propagation')
      ? 'SemiEvol with its warm-up serves M_warm and M_evol, evaluated together'
      : config.method === 'selfguide'
        ? "SELF-GUIDE serves its two fine-tuned models (SELF-GUIDE's and few-shot fine-tuning's), evaluated together"
        : null;
  const { ports } = download.server;
  if (twoModels && (ports?.length ?? 1) < 2)
    return {
      path: [...at, 'server', 'ports'],
      message:
        `${ports ? `lists ${ports.length} port` : `is not set, leaving only the port of "${name}"`}, but ` +
        `${twoModels}, each on a server of its own: list two ports`,
    };
  return null;
}

/** Every `path` under `data` (datasets, task folders, lists of them) is relative to the config's folder. */
function resolvePaths(value: unknown, base: string): void {
  if (Array.isArray(value)) return value.forEach((v) => resolvePaths(v, base));
  if (!value || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(record)) {
    if (key === 'path' && typeof v === 'string') record.path = path.resolve(base, v);
    else resolvePaths(v, base);
  }
}
