import { uiLink } from '../../lib/temporal';

describe('the Web UI link the CLI prints', () => {
  it('is the local dev server UI by default', () => {
    expect(uiLink('run-1', {})).toBe('http://localhost:8233/namespaces/default/workflows/run-1');
  });

  it("follows TEMPORAL_ADDRESS to its host, at the dev server's UI port (the gRPC port + 1000)", () => {
    expect(uiLink('run-1', { TEMPORAL_ADDRESS: '10.1.2.3:7233' })).toBe(
      'http://10.1.2.3:8233/namespaces/default/workflows/run-1',
    );
    expect(uiLink('run 2', { TEMPORAL_ADDRESS: 'temporal.internal:17233', TEMPORAL_NAMESPACE: 'ml' })).toBe(
      'http://temporal.internal:18233/namespaces/ml/workflows/run%202',
    );
  });

  it('points a Temporal Cloud namespace at the Cloud UI', () => {
    expect(uiLink('run-1', { TEMPORAL_ADDRESS: 'ml.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ml.a1b2c' })).toBe(
      'https://cloud.temporal.io/namespaces/ml.a1b2c/workflows/run-1',
    );
  });

  it('takes FLT_UI_URL over anything derived', () => {
    expect(uiLink('run-1', { TEMPORAL_ADDRESS: '10.1.2.3:7233', FLT_UI_URL: 'https://ui.example' })).toBe(
      'https://ui.example/namespaces/default/workflows/run-1',
    );
  });
});
