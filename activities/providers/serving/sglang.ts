// SGLang's runtime LoRA loading (--enable-lora): admin routes at the server root, not under /v1; each reply lists the
// adapters loaded afterwards, by name and path.
import { ProviderHttpError } from '../errors';
import type { AdapterSelection, AdapterServing, ServedAdapter, ServingHttp } from './adapter-serving';

interface SglangReply {
  success?: boolean;
  error_message?: string;
  loaded_adapters?: Record<string, string>;
}

export class SglangAdapterServing implements AdapterServing {
  readonly loadsAtRuntime = true;

  constructor(private readonly http: ServingHttp) {}

  /** SGLang may answer a refusal with 200 and `success: false`; both become the server's own message. */
  private async admin(route: string, body: unknown): Promise<SglangReply> {
    const reply = (await this.http.request('POST', `${this.http.rootURL}${route}`, body)).json() as SglangReply;
    if (reply.success === false) throw new ProviderHttpError(`POST ${route}: ${reply.error_message}`, 400);
    return reply;
  }

  async load(name: string, path: string): Promise<AdapterSelection> {
    await this.admin('/load_lora_adapter', { lora_name: name, lora_path: path });
    return {};
  }

  async unload(name: string): Promise<void> {
    if (!(await this.listServed()).some((adapter) => adapter.name === name)) return;
    await this.admin('/unload_lora_adapter', { lora_name: name });
  }

  async listServed(): Promise<ServedAdapter[]> {
    // The OpenAI model list names loaded adapters (with `root` where the version gives it).
    const { data } = (await this.http.request('GET', `${this.http.baseURL}/models`)).json() as {
      data: { id: string; root?: string | null }[];
    };
    return data.map((model) => ({ name: model.id, path: model.root ?? null }));
  }

  probe(name: string): Promise<void> {
    return this.http.probe(name);
  }
}
