// Cache keys do not depend on the order in which a config file or a request wrote its keys.
import { ResponseCache } from '../../lib/response-cache';

describe('canonical keys', () => {
  it('gives the response-cache key of a request whatever its key order', () => {
    const request = { model: 'm', max_tokens: 4, temperature: 0.5, messages: [{ role: 'user', content: 'hi' }] };
    const reordered = { messages: [{ content: 'hi', role: 'user' }], temperature: 0.5, max_tokens: 4, model: 'm' };
    expect(ResponseCache.key({ endpoint: 'e', request: reordered })).toBe(
      ResponseCache.key({ request, endpoint: 'e' }),
    );
    expect(ResponseCache.key({ endpoint: 'e', request: { ...request, temperature: 0.6 } })).not.toBe(
      ResponseCache.key({ endpoint: 'e', request }),
    );
  });
});
