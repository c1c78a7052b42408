// vLLM's and SGLang's error body is flat, `{object: "error", message, type, param, code}`, unlike OpenAI's nested
// `{error: {...}}`.
import { HttpError } from './http';

export class VllmError extends HttpError {
  constructor(status: number, message: string, type: string) {
    super(status, message, type);
  }

  override body(): unknown {
    return { object: 'error', message: this.message, type: this.type, param: null, code: this.status };
  }
}

export const vllmModelNotFound = (model: string) =>
  new VllmError(404, `The model \`${model}\` does not exist.`, 'NotFoundError');

/** SGLang refuses a `base:adapter` model whose adapter is not loaded with a 400 listing the loaded ones. */
export const sglangAdapterNotLoaded = (adapter: string, loaded: string[]) =>
  new VllmError(
    400,
    `The following requested LoRA adapters are not loaded: ${adapter}\nLoaded adapters: ${JSON.stringify(loaded)}.`,
    'BadRequestError',
  );
