import { createLogger } from '@flotilla/grpc';
import { UnavailableError } from '@flotilla/errors';
import { FakeClock } from '@flotilla/time';
import type { Registrar, RegistrationOutcome } from './registrar';
import { register } from './registration';

/** A registrar that remembers calls; pure logic, so a fake is the right tool. */
class RecordingRegistrar implements Registrar {
  readonly source = 'etcd://127.0.0.1:2379/t';
  calls: string[] = [];
  failNext = 0;
  pending: (() => void) | undefined;
  hold = false;
  private known = false;

  async register(address: string): Promise<RegistrationOutcome> {
    this.calls.push(address);
    if (this.hold) await new Promise<void>((resolve) => (this.pending = resolve));
    if (this.failNext > 0) {
      this.failNext--;
      throw new UnavailableError('etcd is down');
    }
    const outcome = this.known ? 'renewed' : 'registered';
    this.known = true;
    return outcome;
  }
  async deregister(address: string): Promise<void> {
    this.calls.push(`-${address}`);
  }
  async close(): Promise<void> {}
}

const quiet = createLogger({ write: () => undefined });

describe('register', () => {
  it('registers at once, renews every heartbeat, and stops renewing while unhealthy', async () => {
    const clock = new FakeClock(0);
    const registrar = new RecordingRegistrar();
    let healthy = true;
    const reg = register(registrar, '127.0.0.1:4250', 10_000, 30_000, () => healthy, { clock, logger: quiet });
    await clock.advance(0);
    expect(registrar.calls).toHaveLength(1);
    expect(reg.registered).toBe(true);
    await clock.advance(9_999);
    expect(registrar.calls).toHaveLength(1);
    await clock.advance(1);
    expect(registrar.calls).toHaveLength(2);
    healthy = false;
    await clock.advance(40_000);
    expect(registrar.calls).toHaveLength(2);
    expect(reg.registered).toBe(false);
    healthy = true;
    await clock.advance(1000);
    expect(registrar.calls).toHaveLength(3);
    expect(reg.registered).toBe(true);
    await reg.stop();
    await clock.advance(60_000);
    expect(registrar.calls).toHaveLength(3);
  });

  it('registers within a poll of the engine becoming healthy', async () => {
    const clock = new FakeClock(0);
    const registrar = new RecordingRegistrar();
    let healthy = false;
    const reg = register(registrar, 'a:1', 10_000, 30_000, () => healthy, { clock, logger: quiet });
    await clock.advance(5000);
    expect(registrar.calls).toHaveLength(0);
    healthy = true;
    await clock.advance(1000);
    expect(registrar.calls).toHaveLength(1);
    await reg.stop({ deregister: true });
    expect(registrar.calls).toEqual(['a:1', '-a:1']);
  });

  it('retries a failed registration with back-off, never more than a heartbeat apart', async () => {
    const clock = new FakeClock(0);
    const registrar = new RecordingRegistrar();
    registrar.failNext = 4;
    const reg = register(registrar, 'a:1', 4000, 12_000, () => true, { clock, logger: quiet, random: () => 0.5 });
    await clock.advance(0);
    await clock.advance(1000);
    await clock.advance(2000);
    await clock.advance(4000);
    await clock.advance(4000);
    expect(registrar.calls).toHaveLength(5);
    expect(reg.registered).toBe(true);
    await reg.stop();
  });

  it('never overlaps attempts', async () => {
    const clock = new FakeClock(0);
    const registrar = new RecordingRegistrar();
    registrar.hold = true;
    const reg = register(registrar, 'a:1', 1000, 3000, () => true, { clock, logger: quiet });
    await clock.advance(10_000);
    expect(registrar.calls).toHaveLength(1);
    registrar.hold = false;
    registrar.pending?.();
    await clock.advance(1000);
    expect(registrar.calls).toHaveLength(2);
    await reg.stop();
  });

  it('refuses a TTL that is not longer than the heartbeat', () => {
    expect(() => register(new RecordingRegistrar(), 'a:1', 10_000, 10_000, () => true)).toThrow(/ttl 10000: must be longer than the heartbeat/);
  });
});
