// The admin routes of a request gate (testdouble/model-call-gate.ts), mounted under a prefix per gate.
import { badRequest, ok, type Router } from './http';
import type { HeldRequests, ModelCallGate } from './model-call-gate';

/**
 * `POST <prefix>/hold` (body `{method?, paths?, model?, after?}`: hold only those requests, model calls by default,
 * after letting `after` of them through),
 * `POST <prefix>/release`, and `GET <prefix>/held?count=N`, which answers once at least N requests are held (a long
 * poll: the caller's own timeout bounds it).
 */
export function gateRoutes(router: Router, prefix: string, gate: ModelCallGate): void {
  router
    .on('POST', `${prefix}/hold`, (request) => {
      const which = (request.rawBody.length === 0 ? {} : request.json()) as HeldRequests;
      for (const field of ['method', 'paths', 'model'] as const) {
        const value = which[field];
        if (value !== undefined && (typeof value !== 'string' || value === ''))
          throw badRequest(`${field} must be a non-empty string.`, field);
      }
      if (which.after !== undefined && !(Number.isInteger(which.after) && which.after >= 0))
        throw badRequest('after must be a non-negative integer.', 'after');
      gate.hold(which);
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
