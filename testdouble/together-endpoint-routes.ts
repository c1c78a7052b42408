// Together's dedicated-endpoint API under /together/v1/endpoints, in the shapes of Together's own.
import type { DoubleState } from './double-state';
import { badRequest, HttpError, modelNotFound, numberField, ok, requiredString, type Router } from './http';
import type { Endpoint } from './together-endpoints';

function view(endpoint: Endpoint) {
  return {
    object: 'endpoint',
    id: endpoint.id,
    name: endpoint.name,
    display_name: endpoint.displayName,
    model: endpoint.model,
    hardware: endpoint.hardware,
    type: 'dedicated',
    owner: 'provider-double',
    state: endpoint.state,
    autoscaling: { min_replicas: endpoint.minReplicas, max_replicas: endpoint.maxReplicas },
    created_at: new Date(endpoint.createdAt).toISOString(),
  };
}

export function togetherEndpointRoutes(router: Router, state: DoubleState): void {
  const endpoints = state.togetherEndpoints;
  const find = (id: string) => {
    const endpoint = endpoints.get(id);
    if (!endpoint) throw new HttpError(404, `Endpoint ${id} not found`, 'invalid_request_error', 'not_found', 'id');
    return endpoint;
  };
  router
    .on('POST', '/together/v1/endpoints', (request) => {
      const body = request.json();
      const model = requiredString(body, 'model');
      if (!state.models.resolve(model)) throw modelNotFound(model);
      const autoscaling = (body.autoscaling ?? {}) as Record<string, unknown>;
      const minReplicas = numberField(autoscaling, 'min_replicas', { min: 0, max: 16, integer: true }) ?? 1;
      const maxReplicas = numberField(autoscaling, 'max_replicas', { min: 1, max: 16, integer: true }) ?? 1;
      if (maxReplicas < minReplicas) throw badRequest("'max_replicas' must be at least 'min_replicas'.", 'autoscaling');
      const displayName = typeof body.display_name === 'string' ? body.display_name : model;
      const spec = { model, hardware: requiredString(body, 'hardware'), displayName, minReplicas, maxReplicas };
      return ok(view(endpoints.create(spec, `${endpoints.list().length}:${JSON.stringify(body)}`)));
    })
    .on('GET', '/together/v1/endpoints', () => ok({ object: 'list', data: endpoints.list().map(view) }))
    .on('GET', '/together/v1/endpoints/:id', (request) => ok(view(find(request.params.id))))
    .on('PATCH', '/together/v1/endpoints/:id', (request) => {
      const endpoint = find(request.params.id);
      const wanted = request.json().state;
      if (wanted === 'STOPPED') endpoints.stop(endpoint);
      else if (wanted !== undefined) throw badRequest("'state' can only be set to STOPPED here.", 'state');
      return ok(view(endpoint));
    })
    .on('DELETE', '/together/v1/endpoints/:id', (request) => {
      endpoints.delete(find(request.params.id));
      return { status: 204, body: '', rawContentType: 'text/plain' };
    });
}
