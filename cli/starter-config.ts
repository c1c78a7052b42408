// The commented starter configs `flt init` writes: one per method and provider, on the bundled demo data, each
// accepted by `flt validate` as written (a llama.cpp one once its model file exists).

export const starterMethods = ['semievol', 'selfguide'] as const;
export type StarterMethod = (typeof starterMethods)[number];
export const starterProviders = ['openai', 'test-double', 'llama-cpp', 'openai-compatible'] as const;
export type StarterProvider = (typeof starterProviders)[number];

/** Paths as the config writes them: relative to its own folder, with "/" separators. */
export interface StarterPaths {
  schema: string;
  /** SemiEvol's splits: the bundled Financial PhraseBank sample. */
  fpb: { labeled: string; unlabeled: string; test: string };
  /** SELF-GUIDE's task folder: the bundled task190. */
  selfguideTask: string;
  /** The GGUF file a llama-cpp config runs. */
  modelPath: string;
}

/** The port the README starts the provider test double on, which its starter config points at. */
export const testDoublePort = 8787;

interface ProviderPart {
  name: string;
  block: string[];
  /** A comment line above `model:`, where the model's name needs explaining. */
  modelNote?: string;
  model: string;
  backend: string[];
  /** Max tokens per answer: small where a CPU runs the model. */
  maxTokens: number;
}

const inContextBackend = [
  '  # in-context: no training job; the training set becomes demonstrations retrieved for each call. To train',
  '  # weights instead: openai, together, fireworks or command (a trainer of your own), README "Configuration".',
  '  backend: { kind: in-context, k: 3 }',
];

function providerPart(provider: StarterProvider, method: StarterMethod, paths: StarterPaths): ProviderPart {
  switch (provider) {
    case 'openai':
      return {
        name: 'openai',
        block: [
          '  openai:',
          '    kind: openai-compatible # no baseURL: api.openai.com',
          "    apiKeyEnv: OPENAI_API_KEY # the NAME of the worker's environment variable; keys never go in configs",
          '    requestsPerMinute: 500 # worker-wide limits for this provider',
          '    maxConcurrency: 16',
          '    prices: { inputPerMillionTokens: 0.15, outputPerMillionTokens: 0.6 } # gpt-4o-mini, for flt estimate',
        ],
        model: 'gpt-4o-mini',
        backend: inContextBackend,
        maxTokens: 512,
      };
    case 'test-double': {
      const gold = method === 'semievol' ? ' --gold demo/fpb/gold.jsonl' : '';
      return {
        name: 'double',
        block: [
          '  double:',
          "    # The project's provider test double: a simulated model and fine-tuning service, no key needed.",
          '    # Start it first, from the repository root (README "First run without a paid key"):',
          `    #   npm run provider:fake -- --port ${testDoublePort}${gold}`,
          '    kind: openai-compatible',
          `    baseURL: http://127.0.0.1:${testDoublePort}/v1`,
          '    testDouble: true # every result and report says its figures are simulated',
        ],
        model: 'sim-model',
        backend: [
          '  # The double simulates OpenAI fine-tuning jobs.',
          '  backend: { kind: openai, provider: double, pollIntervalSeconds: 1 }',
        ],
        maxTokens: 256,
      };
    }
    case 'llama-cpp':
      return {
        name: 'local',
        block: [
          '  local:',
          '    kind: llama-cpp # embedded llama.cpp in the worker, with real token log-probabilities',
          `    modelPath: ${paths.modelPath} # a GGUF file (relative to this config) that must exist`,
          '    contextSize: 2048',
          "    # gpu: true # offload to the worker's GPU",
        ],
        model: paths.modelPath.split('/').pop()!,
        backend: inContextBackend,
        maxTokens: 128,
      };
    case 'openai-compatible':
      return {
        name: 'local',
        block: [
          '  local:',
          '    # A server of your own that speaks the OpenAI API: vLLM, SGLang, Ollama, a llama.cpp server.',
          ...(method === 'semievol'
            ? ['    # SemiEvol needs its token log-probabilities (vLLM and SGLang return them).']
            : []),
          '    kind: openai-compatible',
          "    baseURL: http://localhost:8000/v1 # vLLM's default; Ollama's: http://localhost:11434/v1",
          '    # apiKeyEnv: VLLM_API_KEY # only for a server started with an API key',
          '    maxConcurrency: 8',
        ],
        modelNote: '# The model as the server names it (Ollama: qwen2.5:0.5b).',
        model: 'Qwen/Qwen2.5-0.5B-Instruct',
        backend: inContextBackend,
        maxTokens: 256,
      };
  }
}

function semievolBody(part: ProviderPart, paths: StarterPaths): string[] {
  const { labeled, unlabeled, test } = paths.fpb;
  return [
    'method: semievol',
    'task: fpb # names the run; letters, digits, "_", "." or "-"',
    'providers:',
    ...part.block,
    ...(part.modelNote ? [part.modelNote] : []),
    `model: { provider: ${part.name}, model: ${part.model} } # M_base: every stage starts from it`,
    '# The bundled Financial PhraseBank sample; paths are relative to this config.',
    'data:',
    `  labeled: { format: semievol-csv, path: ${labeled} } # D_L: 40 labeled questions`,
    `  unlabeled: { format: semievol-csv, path: ${unlabeled} } # D_U: 120 to pseudo-label`,
    `  test: { format: semievol-csv, path: ${test} } # 60, every model is scored on them`,
    'fineTune:',
    ...part.backend,
    '# The paper\'s defaults; README "SemiEvol" lists every option and the authors\' variants.',
    'semievol:',
    `  collaboration: { n: 4, models: [warm, base], temperature: 1.0, maxTokens: ${part.maxTokens} }`,
    `  justification: { temperature: 1.0, maxTokens: ${part.maxTokens} }`,
    '  selection: { theta: 50 }',
    `sampling: { temperature: 0, maxTokens: ${part.maxTokens}, seed: 0 }`,
    'execution: { shardSize: 20, parallelShards: 3 }',
    '# budget: { usd: 5, approveFineTunes: true } # wait for `flt approve` before a stage that would cross it',
  ];
}

function selfguideBody(part: ProviderPart, paths: StarterPaths, provider: StarterProvider): string[] {
  // 40 rounds of 10 prompts (the default for classification) take long on a CPU; two show every stage at work.
  const rounds = provider === 'llama-cpp' ? 'rounds: 2, ' : '';
  return [
    'method: selfguide',
    'task: task190 # names the run; letters, digits, "_", "." or "-"',
    'providers:',
    ...part.block,
    ...(part.modelNote ? [part.modelNote] : []),
    `model: { provider: ${part.name}, model: ${part.model} } # generates the data and is fine-tuned on it`,
    'fineTune:',
    ...part.backend,
    '# The bundled sample of task190 (task.json, validation.jsonl, test.jsonl), relative to this config.',
    'data:',
    `  task: { format: selfguide-task, path: ${paths.selfguideTask} }`,
    'settings: { inputTemperature: 0.7, inputLengthFilter: false, outputLengthFilter: true, epochs: 3 }',
    '# Default rounds: 40 for a classification task, README "SELF-GUIDE".',
    `generation: { ${rounds}promptsPerRound: 10, maxTokens: ${part.maxTokens} }`,
    `annotation: { samples: 10, temperature: 0.2, minShare: 0.3, maxTokens: ${part.maxTokens} }`,
    `evaluation: { maxTokens: ${part.maxTokens} }`,
    'execution: { shardSize: 20, parallelShards: 3 }',
    '# budget: { usd: 5, approveFineTunes: true } # wait for `flt approve` before a stage that would cross it',
  ];
}

/** The starter config's text: a modeline for editors, a header saying what to do with it, then the config. */
export function starterConfig(method: StarterMethod, provider: StarterProvider, paths: StarterPaths): string {
  const part = providerPart(provider, method, paths);
  const body = method === 'semievol' ? semievolBody(part, paths) : selfguideBody(part, paths, provider);
  return [
    `# yaml-language-server: $schema=${paths.schema}`,
    `# Written by \`flt init ${method} --provider ${provider}\`. \`flt validate <this file>\` checks it and its data,`,
    '# `flt run <this file>` starts it (README "Configuration" has every field).',
    ...body,
    '',
  ].join('\n');
}
