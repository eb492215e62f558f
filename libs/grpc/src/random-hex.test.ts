import { randomHex } from './random-hex';

describe('randomHex', () => {
  it('answers 2 × bytes lowercase hex characters', () => {
    for (const bytes of [1, 8, 32, 256]) expect(randomHex(bytes)).toMatch(new RegExp(`^[0-9a-f]{${2 * bytes}}$`));
  });

  it('hands out each pooled byte once, across refills of the pool', () => {
    // 2,000 IDs of 32 bytes are 64,000 bytes: the 4 KiB pool is drawn again 15 times. A pool
    // handed out again without a fresh draw would repeat whole IDs.
    const ids = Array.from({ length: 2000 }, () => randomHex(32));
    expect(new Set(ids).size).toBe(ids.length);
    // An ID that began inside the last one would start with its last byte in every pair; fresh
    // bytes do so in 1 pair of 256 (≈ 8 of these 1,999; 100 or more has a chance below 1e-50).
    const overlapping = ids.slice(1).filter((id, i) => id.slice(0, 2) === ids[i].slice(-2)).length;
    expect(overlapping).toBeLessThan(100);
  });

  it('refuses a size it cannot serve, naming the value', () => {
    for (const bad of [0, -1, 1.5, 257, Number.NaN]) expect(() => randomHex(bad)).toThrow(new RegExp(`got ${bad}`));
  });
});
