// Builds the fine-tune backend a config names; the backends themselves share only ./backend-common.
import type { FineTuneBackendConfig, ProvidersConfig } from '../../../core/config';
import { openAiCompatibleProvider, type FineTuneBackend } from './backend-common';
import { CommandFineTuneBackend } from './command';
import { FireworksFineTuneBackend } from './fireworks';
import { OpenAiFineTuneBackend } from './openai';
import { TogetherFineTuneBackend } from './together';

export function createFineTuneBackend(
  config: Exclude<FineTuneBackendConfig, { kind: 'in-context' }>,
  providers: ProvidersConfig,
  options: { workDir: string; env?: NodeJS.ProcessEnv },
): FineTuneBackend {
  const env = options.env ?? process.env;
  switch (config.kind) {
    case 'openai':
      return new OpenAiFineTuneBackend(openAiCompatibleProvider(providers, config.provider), env);
    case 'together':
      return new TogetherFineTuneBackend(config, openAiCompatibleProvider(providers, config.provider), env);
    case 'fireworks':
      return new FireworksFineTuneBackend(config, openAiCompatibleProvider(providers, config.provider), env);
    case 'command':
      return new CommandFineTuneBackend(config, { workDir: options.workDir, env });
  }
}
