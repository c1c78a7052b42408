// The double's connections: clients reuse idle keep-alive connections (the openai package through undici), and a
// server that closes one of its own accord can do so just as a client sends on it, which the client sees as "other
// side closed" (under load, tests failed so). The double leaves closing idle connections to its clients.
import * as net from 'node:net';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('connections to the provider test double', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble();
  });
  afterAll(async () => {
    await double?.stop();
  });

  test('an idle keep-alive connection stays open past the 5 s after which Node closes them by default', async () => {
    const { hostname, port } = new URL(double.baseURL);
    const socket = net.connect(Number(port), hostname);
    let closed = false;
    socket.on('close', () => (closed = true));
    const answered = new Promise<string>((resolve) => socket.once('data', (data) => resolve(data.toString())));
    socket.write(
      `GET /v1/models HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer k\r\nConnection: keep-alive\r\n\r\n`,
    );
    expect(await answered).toMatch(/^HTTP\/1\.1 /);
    await sleep(7_000);
    expect(closed).toBe(false);
    socket.destroy();
  });
});
