// The provider test double's gate that holds model calls until a test releases them.
import { ModelCallGate } from '../../testdouble/model-call-gate';

describe('ModelCallGate', () => {
  it('lets calls through while open', async () => {
    const gate = new ModelCallGate();
    await expect(gate.pass()).resolves.toBeUndefined();
    expect(gate.heldCount).toBe(0);
  });

  it('holds calls until released, and tells a watcher when enough are held', async () => {
    const gate = new ModelCallGate();
    gate.hold();
    const passed: number[] = [];
    const twoHeld = gate.whenHeld(2).then(() => gate.heldCount);
    const calls = [1, 2].map((n) => gate.pass().then(() => passed.push(n)));
    expect(await twoHeld).toBe(2);
    expect(passed).toEqual([]);
    expect(gate.release()).toBe(2);
    await Promise.all(calls);
    expect(passed).toEqual([1, 2]);
    await gate.pass();
    expect(gate.heldCount).toBe(0);
  });

  it("holds only the named model's calls when given one, and every call again once released", async () => {
    const gate = new ModelCallGate();
    const chat = '/v1/chat/completions';
    gate.hold({ model: 'base' });
    expect(gate.holds('POST', chat, () => 'adapter')).toBe(false);
    expect(gate.holds('POST', chat, () => null)).toBe(false);
    expect(gate.holds('POST', chat, () => 'base')).toBe(true);
    const held = gate.pass();
    await gate.whenHeld(1);
    expect(gate.release()).toBe(1);
    await held;
    gate.hold();
    expect(gate.holds('POST', chat, () => 'adapter')).toBe(true);
    gate.release();
  });

  it('holds the requests a test names instead of model calls', () => {
    const gate = new ModelCallGate();
    gate.hold({ method: 'POST', paths: '^/v1/fine_tuning/jobs$' });
    expect(gate.holds('POST', '/v1/fine_tuning/jobs', () => null)).toBe(true);
    expect(gate.holds('GET', '/v1/fine_tuning/jobs', () => null)).toBe(false);
    expect(gate.holds('POST', '/v1/chat/completions', () => 'base')).toBe(false);
    gate.release();
    expect(gate.holds('POST', '/v1/fine_tuning/jobs', () => null)).toBe(false);
  });

  it('lets the given number of requests of the held kind through first, then holds the rest', () => {
    const gate = new ModelCallGate();
    const chat = '/v1/chat/completions';
    gate.hold({ model: 'base', after: 2 });
    expect(gate.holds('POST', chat, () => 'adapter')).toBe(false); // not of the held kind: does not count
    expect(gate.holds('POST', chat, () => 'base')).toBe(false);
    expect(gate.holds('POST', chat, () => 'base')).toBe(false);
    expect(gate.holds('POST', chat, () => 'base')).toBe(true);
    expect(gate.holds('POST', chat, () => 'base')).toBe(true);
    gate.release();
    gate.hold();
    expect(gate.holds('POST', chat, () => 'base')).toBe(true); // a new hold starts its own count
    gate.release();
  });
});
