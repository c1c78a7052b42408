// vLLM's runtime LoRA loading (VLLM_ALLOW_RUNTIME_LORA_UPDATING=True): admin routes under /v1, adapters listed
// among the models with their path as `root`.
import type { AdapterSelection, AdapterServing, ServedAdapter, ServingHttp } from './adapter-serving';

export class VllmAdapterServing implements AdapterServing {
  readonly loadsAtRuntime = true;

  constructor(private readonly http: ServingHttp) {}

  async load(name: string, path: string): Promise<AdapterSelection> {
    // Never load_inplace: a name that serves another file is unloaded first (serveAdapter does), so a failed load
    // leaves nothing half-replaced behind.
    await this.http.request('POST', `${this.http.baseURL}/load_lora_adapter`, { lora_name: name, lora_path: path });
    return {};
  }

  async unload(name: string): Promise<void> {
    if (!(await this.listServed()).some((adapter) => adapter.name === name)) return;
    await this.http.request('POST', `${this.http.baseURL}/unload_lora_adapter`, { lora_name: name });
  }

  async listServed(): Promise<ServedAdapter[]> {
    const { data } = (await this.http.request('GET', `${this.http.baseURL}/models`)).json() as {
      data: { id: string; root?: string | null }[];
    };
    return data.map((model) => ({ name: model.id, path: model.root ?? null }));
  }

  probe(name: string): Promise<void> {
    return this.http.probe(name);
  }
}
