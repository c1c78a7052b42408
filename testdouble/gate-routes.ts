// The admin routes of a request gate (testdouble/model-call-gate.ts), mounted under a prefix per gate.
import { badRequest, ok, type Router } from './http';
import type { ModelCallGate } from './model-call-gate';

/**
 * `POST <prefix>/hold` (body `{model?}`: hold only the requests naming that model), `POST <prefix>/release`, and
 * `GET <prefix>/held?count=N`, which answers once at least N requests are held (a long poll: the caller's own timeout
 * bounds it).
 */
export function gateRoutes(router: Router, prefix: string, gate: ModelCallGate): void {
  router
    .on('POST', `${prefix}/hold`, (request) => {
      const model = request.rawBody.length === 0 ? undefined : request.json().model;
      if (model !== undefined && (typeof model !== 'string' || model === ''))
        throw badRequest('model must be a non-empty string.', 'model');
      gate.hold(model ?? null);
      return ok({ holding: true });
    })
    .on('POST', `${prefix}/release`, () => ok({ released: gate.release() }))
    .on('GET', `${prefix}/held`, async (request) => {
      const count = Number(request.query.get('count') ?? '0');
      if (!Number.isInteger(count) || count < 0) throw badRequest('count must be a non-negative integer.', 'count');
      await gate.whenHeld(count);
      return ok({ held: gate.heldCount });
    });
}
