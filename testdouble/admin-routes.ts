// /_admin: how tests steer and inspect the provider test double. No auth, never faulted, never logged.
import type { DoubleConfigPatch } from './config';
import type { DoubleState } from './double-state';
import { parseGoldItems } from './gold-index';
import { badRequest, ok, type Router } from './http';
import type { HeldRequests } from './model-call-gate';

export function adminRoutes(router: Router, state: DoubleState): void {
  const startedAt = Date.now();
  router
    .on('GET', '/_admin/health', () =>
      ok({ status: 'ok', goldItems: state.gold.size, uptimeMs: Date.now() - startedAt }),
    )
    .on('GET', '/_admin/requests', () => ok(state.log.list()))
    .on('DELETE', '/_admin/requests', () => ok({ cleared: state.log.clear() }))
    .on('GET', '/_admin/config', () => ok(state.config))
    .on('POST', '/_admin/config', (request) => {
      try {
        return ok(state.configure(request.json() as DoubleConfigPatch));
      } catch (error) {
        throw badRequest(`Invalid config: ${(error as Error).message}`);
      }
    })
    .on('POST', '/_admin/gold', (request) => {
      const items = request.json().items;
      if (!Array.isArray(items)) throw badRequest('Expected {items: GoldItem[]}.', 'items');
      try {
        state.gold.add(parseGoldItems(items));
      } catch (error) {
        throw badRequest((error as Error).message, 'items');
      }
      return ok({ added: items.length, total: state.gold.size });
    })
    // A body `{method?, paths}` holds those requests instead of model calls (e.g. fine-tune job creates).
    .on('POST', '/_admin/hold', (request) => {
      const body = request.rawBody.length > 0 ? request.json() : undefined;
      if (body && (typeof body.paths !== 'string' || !['string', 'undefined'].includes(typeof body.method)))
        throw badRequest('Expected {method?: string, paths: string}.', 'paths');
      state.modelCallGate.hold(body as HeldRequests | undefined);
      return ok({ holding: true });
    })
    .on('POST', '/_admin/release', () => ok({ released: state.modelCallGate.release() }))
    // Answers once at least `count` model calls are held (a long poll: the caller's own timeout bounds it).
    .on('GET', '/_admin/held', async (request) => {
      const count = Number(request.query.get('count') ?? '0');
      if (!Number.isInteger(count) || count < 0) throw badRequest('count must be a non-negative integer.', 'count');
      await state.modelCallGate.whenHeld(count);
      return ok({ held: state.modelCallGate.heldCount });
    })
    .on('DELETE', '/_admin/gold', () => {
      const cleared = state.gold.size;
      state.gold.clear();
      return ok({ cleared });
    });
}
