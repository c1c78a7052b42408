// llama.cpp's server (llama-server): adapters exist only from its start (`--lora FILE --lora-init-without-apply`)
// and each request selects them by id (`"lora": [{"id", "scale"}]`; adapters it leaves out get scale 0).
import * as path from 'node:path';
import { InvalidConfig, typedError } from '../../../core/errors';
import type { AdapterSelection, AdapterServing, ServedAdapter, ServingHttp } from './adapter-serving';

interface PreloadedAdapter {
  id: number;
  path: string;
  scale: number;
}

export class LlamaCppServerAdapterServing implements AdapterServing {
  readonly loadsAtRuntime = false;

  constructor(
    private readonly http: ServingHttp,
    private readonly scale = 1,
  ) {}

  private async preloaded(): Promise<PreloadedAdapter[]> {
    return (await this.http.request('GET', `${this.http.rootURL}/lora-adapters`)).json() as PreloadedAdapter[];
  }

  /** Finds the adapter among those the server was started with; no retry can add one, so its absence is final. */
  async load(_name: string, file: string): Promise<AdapterSelection> {
    const wanted = path.resolve(file);
    const found = (await this.preloaded()).find((adapter) => path.resolve(adapter.path) === wanted);
    if (!found)
      throw typedError(
        InvalidConfig,
        `The llama.cpp server at ${this.http.rootURL} was not started with this adapter: restart it with ` +
          `\`--lora ${wanted} --lora-init-without-apply\`, or serve with vllm, sglang or llama-cpp instead.`,
      );
    return { loraId: found.id };
  }

  /** Nothing to unload: requests that do not select the adapter run without it. */
  async unload(): Promise<void> {}

  async listServed(): Promise<ServedAdapter[]> {
    return (await this.preloaded()).map((adapter) => ({ name: `lora-${adapter.id}`, path: adapter.path }));
  }

  probe(name: string, selection: AdapterSelection): Promise<void> {
    return this.http.probe(name, { lora: [{ id: selection.loraId, scale: this.scale }] });
  }
}
