import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('resolves with the first truthy value the probe returns', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 5 });
    expect(value).toEqual({ calls: 3 });
  });

  it('awaits async probes and retries through probe errors', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls++;
        if (calls < 3) throw new Error(`not yet (${calls})`);
        return 'ready';
      },
      { intervalMs: 5 },
    );
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('times out naming what it waited for and the last probe error', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      waitFor(
        () => {
          calls++;
          throw new Error(`boom ${calls}`);
        },
        { timeoutMs: 200, intervalMs: 20, what: 'the service to answer' },
      ),
    ).rejects.toThrow(/Timed out after \d+ ms .*waiting for the service to answer; last probe error: Error: boom \d+/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(calls).toBeGreaterThan(2);
  });

  it('times out reporting the last falsy value', async () => {
    await expect(waitFor(() => 0, { timeoutMs: 100, what: 'a count' })).rejects.toThrow(
      /waiting for a count; last probe value: 0/,
    );
  });

  it('does not hang on a probe that never settles', async () => {
    await expect(waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 100 })).rejects.toThrow(
      /the probe never settled/,
    );
  });
});
