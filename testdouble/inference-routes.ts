// Model calls: chat completions (OpenAI and Together), embeddings, and the model list.
import type { DoubleState } from './double-state';
import { hashedEmbedding, toBase64 } from './embeddings';
import type { PromptMessage } from './gold-index';
import { randomId } from './hashing';
import {
  badRequest,
  HttpError,
  modelNotFound,
  numberField,
  ok,
  requiredString,
  type DoubleRequest,
  type Handler,
  type Reply,
  type Router,
} from './http';
import type { ResolvedModel } from './model-registry';
import { declinedCompletion, simulateCompletion, type CompletionRequest } from './simulated-model';
import { countTokens } from './tokenizer';

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Message content may be a string or a list of parts; only text parts count. */
function parseMessages(value: unknown): PromptMessage[] {
  if (!Array.isArray(value) || value.length === 0)
    throw badRequest("'messages' must be a non-empty array.", 'messages');
  return value.map((message, i) => {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string') throw badRequest(`'messages[${i}].role' must be a string.`, `messages[${i}].role`);
    if (typeof content === 'string') return { role, content };
    if (content === null || content === undefined) return { role, content: '' };
    if (Array.isArray(content)) {
      return { role, content: content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('') };
    }
    throw badRequest(`'messages[${i}].content' must be a string or a list of content parts.`, `messages[${i}].content`);
  });
}

function parseStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string') && value.length <= 4) return value;
  throw badRequest("'stop' must be a string or a list of up to 4 strings.", 'stop');
}

/** `resolve` lets runtime-loaded LoRA adapters (lora-routes.ts) answer as their base model. */
export function chatCompletion(
  state: DoubleState,
  resolve: (name: string) => ResolvedModel | undefined = (name) => state.models.resolve(name),
): (request: DoubleRequest) => Reply {
  return (request) => {
    const body = request.json();
    const modelName = requiredString(body, 'model');
    const messages = parseMessages(body.messages);
    const model = resolve(modelName);
    if (!model) throw modelNotFound(modelName);
    if (body.stream === true) throw badRequest('Streaming is not supported by the provider test double.', 'stream');
    const promptChars = messages.reduce((sum, m) => sum + JSON.stringify(m.content).length, 0);
    const { maxPromptChars } = state.config;
    if (maxPromptChars > 0 && promptChars > maxPromptChars)
      throw new HttpError(
        400,
        `This model's maximum context length is ${Math.floor(maxPromptChars / 4)} tokens. However, your messages ` +
          `resulted in ${Math.ceil(promptChars / 4)} tokens. Please reduce the length of the messages.`,
        'invalid_request_error',
        'context_length_exceeded',
        'messages',
      );
    const seed = numberField(body, 'seed', { integer: true });
    const prompt = messages.map((m) => m.content).join('\n');
    const refused = state.config.refuse.some(
      (rule) =>
        (rule.prompt === undefined || new RegExp(rule.prompt).test(prompt)) &&
        (rule.seed === undefined || rule.seed === seed),
    );
    if (refused)
      throw new HttpError(
        400,
        'The provider test double refuses this request (a configured refusal rule matches it).',
        'invalid_request_error',
        'refused_by_rule',
        'messages',
      );
    const wantLogprobs = body.logprobs === true;
    const completion: CompletionRequest = {
      model,
      messages,
      temperature: numberField(body, 'temperature', { min: 0, max: 2 }) ?? 1,
      n: numberField(body, 'n', { min: 1, max: 128, integer: true }) ?? 1,
      seed,
      maxTokens:
        numberField(body, 'max_completion_tokens', { min: 1, integer: true }) ??
        numberField(body, 'max_tokens', { min: 1, integer: true }),
      stop: parseStop(body.stop),
      topLogprobs: numberField(body, 'top_logprobs', { min: 0, max: 20, integer: true }) ?? 0,
    };
    const declined = state.config.declines.find((rule) => new RegExp(rule.prompt).test(prompt));
    const choices = declined
      ? declinedCompletion(completion, declined.text)
      : simulateCompletion(completion, state.gold, state.config.answerFormat);
    const promptTokens = messages.reduce((sum, m) => sum + countTokens(m.content), 0);
    const completionTokens = choices.reduce((sum, c) => sum + c.tokens.length, 0);
    // Never more than the prompt: the cache counts role markers as tokens, the bill does not.
    const cachedTokens = Math.min(promptTokens, state.promptCache.read(model.name, messages, state.config.promptCache));
    return ok({
      id: `chatcmpl-${randomId()}`,
      object: 'chat.completion',
      created: seconds(Date.now()),
      model: modelName,
      system_fingerprint: 'fp_provider_double',
      choices: choices.map((choice, index) => ({
        index,
        message: { role: 'assistant', content: choice.text, refusal: null, annotations: [] },
        logprobs: wantLogprobs
          ? {
              content: choice.tokens.map((t) => ({
                token: t.token,
                logprob: t.logprob,
                bytes: null,
                top_logprobs: t.top.map((alt) => ({ token: alt.token, logprob: alt.logprob, bytes: null })),
              })),
              refusal: null,
            }
          : null,
        finish_reason: choice.finishReason,
      })),
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: cachedTokens },
      },
    });
  };
}

function parseEmbeddingInput(value: unknown): string[] {
  const texts = Array.isArray(value) ? value : [value];
  if (texts.length === 0) throw badRequest("'input' must not be empty.", 'input');
  return texts.map((text) => {
    if (typeof text === 'string') return text;
    // Token-id input: embed the ids as words so equal inputs still embed equally.
    if (Array.isArray(text) && text.every((t) => typeof t === 'number')) return text.join(' ');
    throw badRequest("'input' must be a string, a list of strings, or token arrays.", 'input');
  });
}

function embeddings(state: DoubleState): Handler {
  return (request) => {
    const body = request.json();
    const modelName = requiredString(body, 'model');
    if (body.input === undefined) throw badRequest("Missing required parameter: 'input'.", 'input');
    const texts = parseEmbeddingInput(body.input);
    if (!state.config.embeddingModels.includes(modelName) && !state.models.resolve(modelName))
      throw modelNotFound(modelName);
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64')
      throw badRequest("'encoding_format' must be 'float' or 'base64'.", 'encoding_format');
    const tokens = texts.reduce((sum, text) => sum + countTokens(text), 0);
    return ok({
      object: 'list',
      data: texts.map((text, index) => {
        const vector = hashedEmbedding(text);
        return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(vector) : vector };
      }),
      model: modelName,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  };
}

export const modelView = (m: { name: string; createdAt: number; fineTuned: boolean }) => ({
  id: m.name,
  object: 'model',
  created: seconds(m.createdAt),
  owned_by: m.fineTuned ? 'user-provider-double' : 'provider-double',
});

export function inferenceRoutes(router: Router, state: DoubleState): void {
  router
    .on('POST', '/v1/chat/completions', chatCompletion(state))
    .on('POST', '/v1/embeddings', embeddings(state))
    .on('GET', '/v1/models', () => ok({ object: 'list', data: state.models.listed().map(modelView) }))
    .on('GET', '/v1/models/:model', (request) => {
      const model = state.models.listed().find((m) => m.name === request.params.model);
      if (!model)
        throw new HttpError(
          404,
          `The model '${request.params.model}' does not exist`,
          'invalid_request_error',
          'model_not_found',
          'model',
        );
      return ok(modelView(model));
    });
}
