// vLLM's error body is flat, `{object: "error", message, type, param, code}`, unlike OpenAI's nested `{error: {...}}`.
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
