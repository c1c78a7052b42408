// FltCostUsd as every workflow upserts it: rounded to a millionth of a dollar, so the Web UI shows no float noise.
import { costUsdAttribute, searchAttributes } from '../../core/search-attributes';

describe('costUsdAttribute', () => {
  it('rounds to 1e-6 dollars', () => {
    expect(costUsdAttribute(0.021361800000000004)).toEqual({ key: searchAttributes.costUsd, value: 0.021362 });
    expect(String(costUsdAttribute(0.1 + 0.2).value)).toBe('0.3');
    expect(costUsdAttribute(0.0000004).value).toBe(0);
    expect(costUsdAttribute(0.0000006).value).toBe(0.000001);
    expect(String(costUsdAttribute(12.34567849).value)).toBe('12.345678');
    expect(String(costUsdAttribute(12.3456786).value)).toBe('12.345679');
  });

  it('leaves a cost with six decimals or fewer as it is', () => {
    for (const usd of [0, 0.5, 1.25, 3.141593]) expect(costUsdAttribute(usd).value).toBe(usd);
  });
});
