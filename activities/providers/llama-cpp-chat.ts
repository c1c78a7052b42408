// ChatBackend over an in-process llama.cpp model (node-llama-cpp), with real token log-probabilities and
// grammar-constrained choices.
import { access } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import type {
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
  Token,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { LlamaCppProviderConfig } from '../../core/config';
import type { ChatChoice, ChatMessage, ChatRequest, ChatResponse, TokenLogprob } from '../../core/types';
import { importEsmPackage } from '../esm-import';
import type { ChatBackend } from './chat';

type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

const defaultMaxTokens = 256;
const uint32Range = 2 ** 32;

let nodeLlamaCppModule: Promise<NodeLlamaCpp> | undefined;

/** node-llama-cpp is ESM-only and this project compiles to CommonJS. */
function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  nodeLlamaCppModule ??= importEsmPackage<NodeLlamaCpp>('node-llama-cpp');
  return nodeLlamaCppModule;
}

function describeError(err: unknown): string {
  // Errors from node-llama-cpp may come from another realm (jest), where `instanceof Error` is false.
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** A counting semaphore: at most `free` holders at once, the rest wait in arrival order. */
class Slots {
  private readonly waiting: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * One Llama runtime per GPU setting: getLlama is slow (it tests the binary in a child process) and instances are
 * independent.
 */
const llamas = new Map<boolean, Promise<Llama>>();

interface LoadedModel {
  model: LlamaModel;
  chatWrapper: ChatWrapper;
}

type LoraAdapter = NonNullable<ChatRequest['adapter']>;

/**
 * A context of the model with one adapter set applied (or none). node-llama-cpp sets adapters only when it creates
 * a context, so each adapter set gets a context of its own. The alternative, reloading the model whenever the adapter
 * changes, cost 470-670 ms on the 1.7 MB tiny model (a real model's load reads gigabytes) against 2-60 ms for a
 * context; a context's memory is its KV cache, so only `keptContexts` of them are kept.
 */
interface AdapterContext {
  key: string;
  context: Promise<LlamaContext>;
  /** Calls using the context now: it is disposed only when none are. */
  calls: number;
  /** When a call last checked it out (a counter), to dispose the least recently used first. */
  lastUsed: number;
}

/**
 * Idle contexts beyond this many are disposed: the base and one adapter, as when a run compares a fine-tuned model
 * with its base, without a context creation per call. Contexts in use are never disposed, so under concurrent calls
 * naming more adapter sets there are briefly more.
 */
const keptContexts = 2;

/** A model shared by every LlamaCppChat with the same (modelPath, contextSize, gpu) in this process. */
interface ModelEntry {
  key: string;
  gpu: boolean;
  users: number;
  loaded: Promise<LoadedModel>;
  /** By adapter set. Adapters themselves stay loaded in the model until it is disposed (node-llama-cpp's rule). */
  contexts: Map<string, AdapterContext>;
  checkouts: number;
  /**
   * One slot per context sequence, so concurrent requests queue instead of failing with "No sequences left". Shared by
   * all the contexts, each of `sequences` sequences: any one of them can serve every slot, and the model never runs
   * more than `sequences` calls at once, whatever their adapters.
   */
  slots: Slots;
  sequences: number;
}

const models = new Map<string, ModelEntry>();

function retainModel(config: LlamaCppProviderConfig): ModelEntry {
  const key = JSON.stringify([config.modelPath, config.contextSize, config.gpu]);
  let entry = models.get(key);
  if (!entry) {
    const created: ModelEntry = {
      key,
      gpu: config.gpu,
      users: 0,
      loaded: loadModel(config),
      contexts: new Map(),
      checkouts: 0,
      // Contexts are sized by whichever instance first uses this model.
      sequences: config.maxConcurrency,
      slots: new Slots(config.maxConcurrency),
    };
    // A failed load must not stick: the next instance retries.
    created.loaded.catch(() => {
      if (models.get(key) === created) models.delete(key);
    });
    models.set(key, created);
    entry = created;
  }
  entry.users++;
  return entry;
}

async function releaseModel(entry: ModelEntry): Promise<void> {
  entry.users--;
  if (entry.users > 0) return;
  if (models.get(entry.key) === entry) models.delete(entry.key);
  const llama = [...models.values()].some((other) => other.gpu === entry.gpu) ? undefined : llamas.get(entry.gpu);
  if (llama) llamas.delete(entry.gpu);

  const loaded = await entry.loaded.catch(() => undefined);
  await loaded?.model.dispose(); // also disposes its contexts
  await (await llama?.catch(() => undefined))?.dispose();
}

function sharedLlama(getLlama: NodeLlamaCpp['getLlama'], gpu: boolean): Promise<Llama> {
  let llama = llamas.get(gpu);
  if (!llama) {
    llama = getLlama({ gpu: gpu ? 'auto' : false, build: 'never' }).catch((err: unknown) => {
      llamas.delete(gpu);
      throw new Error(`llama-cpp provider: could not start llama.cpp (gpu: ${gpu}): ${describeError(err)}`);
    });
    llamas.set(gpu, llama);
  }
  return llama;
}

async function loadModel(config: LlamaCppProviderConfig): Promise<LoadedModel> {
  const { getLlama, resolveChatWrapper } = await loadNodeLlamaCpp();
  const llama = await sharedLlama(getLlama, config.gpu);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: config.modelPath });
  } catch (err) {
    throw new Error(`llama-cpp provider: failed to load model at ${config.modelPath}: ${describeError(err)}`, {
      cause: err,
    });
  }
  // Uses the GGUF's chat template when it has one, and falls back to a generic "### Human / ### Assistant" wrapper
  // otherwise.
  return { model, chatWrapper: resolveChatWrapper(model, { warningLogs: false }) };
}

function adapterSetKey(adapter: LoraAdapter | undefined): string {
  return adapter ? JSON.stringify([adapter.path, adapter.scale ?? 1]) : 'base';
}

/**
 * Takes the context for `adapter`, creating it when there is none, after disposing idle contexts beyond
 * `keptContexts` so their memory is free first. Synchronous up to the returned promise, so no call can take a context
 * that eviction has chosen: eviction skips contexts with calls, and a call finds only contexts still in the map.
 */
function checkOutContext(
  entry: ModelEntry,
  config: LlamaCppProviderConfig,
  model: LlamaModel,
  adapter: LoraAdapter | undefined,
): AdapterContext {
  const key = adapterSetKey(adapter);
  let adapterContext = entry.contexts.get(key);
  if (!adapterContext) {
    const freed = disposeIdleContexts(entry, keptContexts - 1);
    const created: AdapterContext = {
      key,
      calls: 0,
      lastUsed: 0,
      context: freed.then(() => createContext(entry, config, model, adapter)),
    };
    // A failed creation must not stick (a bad adapter file can be replaced): the next call tries again.
    created.context.catch(() => {
      if (entry.contexts.get(key) === created) entry.contexts.delete(key);
    });
    entry.contexts.set(key, created);
    adapterContext = created;
  }
  adapterContext.calls++;
  adapterContext.lastUsed = ++entry.checkouts;
  return adapterContext;
}

async function returnContext(entry: ModelEntry, adapterContext: AdapterContext): Promise<void> {
  adapterContext.calls--;
  await disposeIdleContexts(entry, keptContexts);
}

/** Disposes the least recently used idle contexts until at most `keep` remain (or only busy ones are left). */
async function disposeIdleContexts(entry: ModelEntry, keep: number): Promise<void> {
  const idle = [...entry.contexts.values()].filter((c) => c.calls === 0).sort((a, b) => a.lastUsed - b.lastUsed);
  const evicted = idle.slice(0, Math.max(0, entry.contexts.size - keep));
  for (const adapterContext of evicted) entry.contexts.delete(adapterContext.key);
  await Promise.all(
    evicted.map(async (adapterContext) => {
      const context = await adapterContext.context.catch(() => undefined);
      // A context that fails to dispose has nothing left to retry with, and must not fail the call that evicted it.
      await context?.dispose().catch(() => undefined);
    }),
  );
}

async function createContext(
  entry: ModelEntry,
  config: LlamaCppProviderConfig,
  model: LlamaModel,
  adapter: LoraAdapter | undefined,
): Promise<LlamaContext> {
  try {
    return await model.createContext({
      contextSize: config.contextSize,
      sequences: entry.sequences,
      // node-llama-cpp's default (twice the math cores) oversubscribes small machines: generation ran ~50x slower
      // on 2 cores than with one thread per math core.
      threads: config.threads ?? model.llama.cpuMathCores,
      ...(adapter ? { lora: { adapters: [{ filePath: adapter.path, scale: adapter.scale ?? 1 }] } } : {}),
    });
  } catch (err) {
    const withAdapter = adapter ? ` with LoRA adapter "${adapter.name}" (${adapter.path})` : '';
    throw new Error(
      `llama-cpp provider: failed to create a ${config.contextSize}-token context for ${config.modelPath}` +
        `${withAdapter}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

function toChatHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((message) =>
    message.role === 'assistant'
      ? { type: 'model', response: [message.content] }
      : { type: message.role, text: message.content },
  );
  // An empty model turn makes the template end where the assistant speaks; a trailing assistant message is continued
  // instead.
  if (messages.at(-1)?.role !== 'assistant') history.push({ type: 'model', response: [] });
  return history;
}

/** GBNF string literal: quotes, backslashes and control characters escaped, everything else verbatim UTF-8. */
function gbnfLiteral(text: string): string {
  // eslint-disable-next-line no-control-regex -- GBNF literals escape control characters, so the pattern names them
  const escaped = text.replace(/[\\"\u0000-\u001f\u007f]/g, (char) => {
    if (char === '\\' || char === '"') return `\\${char}`;
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `"${escaped}"`;
}

/** Sample i of a request uses seed + i, wrapped into llama.cpp's uint32 seed range. */
function sampleSeed(seed: number, sampleIndex: number): number {
  return (((Math.floor(seed) + sampleIndex) % uint32Range) + uint32Range) % uint32Range;
}

/**
 * Turns sampled tokens into text pieces that concatenate to the text of all of them. A token whose bytes end
 * mid-character (byte-fallback pieces) yields "" and the token completing the character carries it.
 */
class IncrementalDetokenizer {
  private readonly tokens: Token[] = [];
  private emitted = '';
  constructor(private readonly model: LlamaModel) {}

  push(token: Token): string {
    this.tokens.push(token);
    const text = this.model.detokenize(this.tokens);
    return text.endsWith('\uFFFD') ? '' : this.emit(text);
  }

  /** Whatever is still held back when generation ends (an incomplete character). */
  flush(): string {
    return this.emit(this.model.detokenize(this.tokens));
  }

  private emit(text: string): string {
    const piece = text.slice(this.emitted.length);
    this.emitted = text;
    return piece;
  }
}

interface SampleOptions {
  promptTokens: Token[];
  maxTokens: number;
  temperature: number;
  seed: number;
  logprobs: boolean;
  topLogprobs: number;
  stopStrings: string[];
  stopTokens: ReadonlySet<Token>;
  grammar: LlamaGrammar | undefined;
  signal: AbortSignal | undefined;
}

interface Sample {
  choice: ChatChoice;
  completionTokens: number;
}

export class LlamaCppChat implements ChatBackend {
  private entry: Promise<ModelEntry> | undefined;
  private closed = false;

  /** `localAdapter`: where an adapter's recorded path is on this host (another host's adapter comes from the store). */
  constructor(
    private readonly config: LlamaCppProviderConfig,
    private readonly localAdapter: (adapter: LoraAdapter) => Promise<string> = async (adapter) => adapter.path,
  ) {}

  async complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    if (this.closed) throw new Error('llama-cpp provider: complete() called after close()');
    signal?.throwIfAborted();
    if (request.choices && request.choices.length === 0)
      throw new Error('llama-cpp provider: `choices` must not be empty');

    const adapter = request.adapter && { ...request.adapter, path: await this.localAdapter(request.adapter) };
    if (adapter) {
      await access(adapter.path).catch(() => {
        throw new Error(`llama-cpp provider: LoRA adapter "${adapter.name}" not found at ${adapter.path}`);
      });
    }

    const entry = await this.acquireEntry();
    const { model, chatWrapper } = await entry.loaded;

    const { contextText, stopGenerationTriggers } = chatWrapper.generateContextState({
      chatHistory: toChatHistory(request.messages),
    });
    const promptTokens = contextText.tokenize(model.tokenizer);

    // The template's end-of-turn markers end the answer like user stops; single special tokens are matched as tokens.
    const stopStrings = (request.stop ?? []).filter((stop) => stop.length > 0);
    const stopTokens = new Set<Token>();
    for (const trigger of stopGenerationTriggers) {
      if (trigger.values.every((value) => typeof value === 'string')) stopStrings.push(trigger.values.join(''));
      else {
        const tokens = trigger.tokenize(model.tokenizer);
        if (tokens.length === 1) stopTokens.add(tokens[0]!);
      }
    }

    const grammar = request.choices
      ? await model.llama.createGrammar({ grammar: `root ::= ${request.choices.map(gbnfLiteral).join(' | ')}` })
      : undefined;

    const baseSeed = request.seed ?? randomInt(uint32Range - 1);

    const sampleOptions = {
      promptTokens,
      temperature: request.temperature ?? 1,
      logprobs: request.logprobs ?? false,
      topLogprobs: request.top_logprobs ?? 0,
      stopStrings,
      stopTokens,
      grammar,
      signal,
    };
    const samples = await this.withSequence(entry, model, adapter, async (sequence) => {
      const room = sequence.contextSize - promptTokens.length;
      if (room <= 0) {
        throw new Error(
          `llama-cpp provider: prompt is ${promptTokens.length} tokens but the context holds ${sequence.contextSize}`,
        );
      }
      // Capped to the context so generation never shifts the prompt out, which also keeps prefix reuse valid.
      const maxTokens = Math.min(request.max_tokens ?? defaultMaxTokens, room);
      const samples: Sample[] = [];
      for (let sampleIndex = 0; sampleIndex < (request.n ?? 1); sampleIndex++) {
        const seed = sampleSeed(baseSeed, sampleIndex);
        samples.push(await this.sample(model, sequence, { ...sampleOptions, maxTokens, seed }));
      }
      return samples;
    });

    return {
      model: request.model,
      choices: samples.map((sample) => sample.choice),
      usage: {
        prompt_tokens: promptTokens.length,
        completion_tokens: samples.reduce((sum, sample) => sum + sample.completionTokens, 0),
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entry = await this.entry?.catch(() => undefined);
    this.entry = undefined;
    if (entry) await releaseModel(entry);
  }

  /** Runs `use` on a sequence of its own in the context with `adapter` applied, waiting for a free slot. */
  private async withSequence<T>(
    entry: ModelEntry,
    model: LlamaModel,
    adapter: LoraAdapter | undefined,
    use: (sequence: LlamaContextSequence) => Promise<T>,
  ): Promise<T> {
    await entry.slots.acquire();
    try {
      const adapterContext = checkOutContext(entry, this.config, model, adapter);
      try {
        const sequence = (await adapterContext.context).getSequence();
        try {
          return await use(sequence);
        } finally {
          await sequence.dispose();
        }
      } finally {
        await returnContext(entry, adapterContext);
      }
    } finally {
      entry.slots.release();
    }
  }

  /** Memoized so concurrent first calls retain the shared model once; a failure is not memoized. */
  private acquireEntry(): Promise<ModelEntry> {
    this.entry ??= access(this.config.modelPath).then(
      () => retainModel(this.config),
      () => {
        this.entry = undefined;
        throw new Error(`llama-cpp provider: model file not found at ${this.config.modelPath}`);
      },
    );
    return this.entry;
  }

  private async sample(model: LlamaModel, sequence: LlamaContextSequence, options: SampleOptions): Promise<Sample> {
    const { LlamaGrammarEvaluationState } = await loadNodeLlamaCpp();
    const { promptTokens } = options;

    // Keep the evaluated prompt from the previous sample; only its last token is re-evaluated to get fresh logits.
    if (sequence.nextTokenIndex > 0) {
      await sequence.eraseContextTokenRanges([{ start: promptTokens.length - 1, end: sequence.nextTokenIndex }]);
    }

    // Log-probabilities are the native sampler's own distribution, from
    // `evaluateWithMetadata({confidence, probabilities})`: log-softmax(logits / temperature) over the whole vocabulary
    // for temperature > 0 (top-k, top-p and min-p are disabled, so that is exactly the distribution sampled from), and
    // log-softmax(logits), i.e. temperature 1, for greedy temperature 0. With `choices` the grammar masks disallowed
    // tokens first, so probabilities are renormalized over the allowed ones.
    const metadata = { confidence: options.logprobs, probabilities: options.logprobs && options.topLogprobs > 0 };
    const evaluation = sequence.evaluateWithMetadata(promptTokens.slice(sequence.nextTokenIndex), metadata, {
      temperature: options.temperature,
      topK: 0,
      topP: 1,
      minP: 0,
      seed: options.seed,
      grammarEvaluationState: options.grammar
        ? new LlamaGrammarEvaluationState({ model, grammar: options.grammar })
        : undefined,
    });

    const detokenizer = new IncrementalDetokenizer(model);
    const generated: Token[] = [];
    const logprobs: TokenLogprob[] = [];
    const longestStop = Math.max(0, ...options.stopStrings.map((stop) => stop.length));
    let text = '';
    let finishReason = 'stop'; // end-of-generation token, template stop token or stop string
    let stoppedByString = false;

    // The metadata flags are runtime booleans, so the declared output type leaves out the fields they turn on.
    for await (const output of evaluation as AsyncIterable<{
      token: Token;
      confidence?: number;
      probabilities?: Map<Token, number>;
    }>) {
      options.signal?.throwIfAborted();
      if (options.stopTokens.has(output.token)) break;

      const piece = detokenizer.push(output.token);
      if (options.logprobs) logprobs.push(this.tokenLogprob(model, piece, output, generated, options.topLogprobs));
      generated.push(output.token);
      text += piece;

      const stopAt = this.findStop(text, text.length - piece.length - longestStop + 1, options.stopStrings);
      if (stopAt !== undefined) {
        text = text.slice(0, stopAt);
        this.truncateLogprobs(logprobs, stopAt);
        stoppedByString = true;
        break;
      }
      if (generated.length >= options.maxTokens) {
        finishReason = 'length';
        break;
      }
    }

    if (!stoppedByString) {
      const heldBack = detokenizer.flush();
      text += heldBack;
      const last = logprobs.at(-1);
      if (last) last.token += heldBack;
    }

    return {
      choice: { text, logprobs: options.logprobs ? logprobs : null, finish_reason: finishReason },
      completionTokens: generated.length,
    };
  }

  private tokenLogprob(
    model: LlamaModel,
    piece: string,
    output: { token: Token; confidence?: number; probabilities?: Map<Token, number> },
    previousTokens: Token[],
    topLogprobs: number,
  ): TokenLogprob {
    const entry: TokenLogprob = { token: piece, logprob: Math.log(output.confidence ?? Number.NaN) };
    if (output.probabilities) {
      entry.top = [];
      // The map is sorted by probability, highest first; tokens a grammar rules out have probability 0 and are left
      // out.
      for (const [token, probability] of output.probabilities) {
        if (entry.top.length >= topLogprobs || probability === 0) break;
        entry.top.push({ token: model.detokenize([token], false, previousTokens), logprob: Math.log(probability) });
      }
    }
    return entry;
  }

  /** Earliest index where a stop string starts, searching only where a new match can begin. */
  private findStop(text: string, searchFrom: number, stopStrings: string[]): number | undefined {
    let earliest: number | undefined;
    for (const stop of stopStrings) {
      const index = text.indexOf(stop, Math.max(0, searchFrom));
      if (index >= 0 && (earliest === undefined || index < earliest)) earliest = index;
    }
    return earliest;
  }

  /** Drops the entries for tokens wholly inside the stop string and trims the one it starts in. */
  private truncateLogprobs(logprobs: TokenLogprob[], textLength: number): void {
    let offset = 0;
    let kept = 0;
    for (const entry of logprobs) {
      if (offset >= textLength) break;
      entry.token = entry.token.slice(0, textLength - offset);
      offset += entry.token.length;
      kept++;
    }
    logprobs.length = kept;
  }
}
