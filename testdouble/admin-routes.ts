// /_admin: how tests steer and inspect the provider test double. No auth, never faulted, never logged.
import type { DoubleConfigPatch } from './config';
import type { DoubleState } from './double-state';
import { parseGoldItems } from './gold-index';
import { gateRoutes } from './gate-routes';
import { badRequest, ok, type Router } from './http';

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
    .on('GET', '/_admin/together/endpoints', () =>
      ok(
        state.togetherEndpoints
          .list()
          .map(({ id, name, displayName, model, state }) => ({ id, name, displayName, model, state })),
      ),
    )
    .on('GET', '/_admin/fireworks/deployments', () => ok(state.fireworksDeployments.view()))
    .on('GET', '/_admin/together/checkpoints', () =>
      ok(
        state.checkpointArchives
          .list()
          .map(({ jobId, key, bytes, files, served }) => ({ jobId, key, size: bytes.length, files, served })),
      ),
    )
    .on('DELETE', '/_admin/gold', () => {
      const cleared = state.gold.size;
      state.gold.clear();
      return ok({ cleared });
    });
  gateRoutes(router, '/_admin', state.modelCallGate);
  gateRoutes(router, '/_admin/downloads', state.downloadGate);
}
