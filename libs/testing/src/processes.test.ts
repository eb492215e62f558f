import * as fs from 'node:fs';
import { cleanupAll, spawnService, MAX_LINES } from './processes';
import { waitFor } from './wait-for';

const node = (name: string, script: string, env?: Record<string, string>) =>
  spawnService({ command: process.execPath, args: ['-e', script], name, env });

function processState(pid: number): string | undefined {
  try {
    // /proc/PID/stat: "pid (comm) S ..."; comm is ours (node), so no spaces or parentheses.
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2];
  } catch {
    return undefined;
  }
}

afterAll(() => cleanupAll());

describe('spawnService', () => {
  it('keeps stdout and stderr lines and waits for a matching line', async () => {
    const svc = node(
      'greeter',
      `console.log('starting ' + process.env.GREETING);
       console.error('a warning');
       setTimeout(() => console.log('ready on port 4242'), 200);
       setInterval(() => {}, 1000);`,
      { GREETING: 'hello' },
    );
    expect(svc.pid).toBeGreaterThan(0);
    const line = await svc.waitForLine(/ready on port (\d+)/);
    expect(line).toBe('ready on port 4242');
    // Lines already seen match at once, with a predicate too.
    await expect(svc.waitForLine((l) => l.startsWith('starting'))).resolves.toBe('starting hello');
    expect(svc.lines).toEqual(expect.arrayContaining(['starting hello', 'a warning', 'ready on port 4242']));
    // `since` skips lines seen before.
    await expect(svc.waitForLine(/starting/, 200, svc.totalLines)).rejects.toThrow(/no line matching \/starting\/ within 200 ms/);
    const info = await svc.stop();
    expect(info).toEqual({ code: null, signal: 'SIGTERM' });
    expect(svc.exitInfo).toEqual(info);
  });

  it('rejects with the recent output when no line matches in time', async () => {
    const svc = node('quiet', `console.log('only this'); setInterval(() => {}, 1000);`);
    await svc.waitForLine(/only this/);
    await expect(svc.waitForLine(/never/, 150)).rejects.toThrow(/quiet: no line matching \/never\/ within 150 ms; recent output:\n {2}\| only this/);
    await svc.stop();
  });

  it('rejects when the process exits before printing the line', async () => {
    const svc = node('quitter', `console.log('bye'); process.exit(3);`);
    await expect(svc.waitForLine(/never printed/)).rejects.toThrow(/quitter exited \(code 3\) before printing a line matching \/never printed\/; recent output:\n {2}\| bye/);
    await expect(svc.exited).resolves.toEqual({ code: 3, signal: null });
    // Also when asked after the exit.
    await expect(svc.waitForLine(/nope/)).rejects.toThrow(/quitter exited \(code 3\)/);
    // stop() on an exited process just reports how it ended.
    await expect(svc.stop()).resolves.toEqual({ code: 3, signal: null });
  });

  it('stop() falls back to SIGKILL for a process that ignores SIGTERM, and is safe to call twice', async () => {
    const svc = node('stubborn', `process.on('SIGTERM', () => console.log('ignoring TERM')); console.log('up'); setInterval(() => {}, 1000);`);
    await svc.waitForLine(/^up$/);
    const started = Date.now();
    const [first, second] = await Promise.all([svc.stop(300), svc.stop(300)]);
    expect(first).toEqual({ code: null, signal: 'SIGKILL' });
    expect(second).toBe(first);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(svc.lines).toContain('ignoring TERM');
    await expect(svc.stop()).resolves.toEqual(first);
  });

  it('stop() resumes a SIGSTOPped process so that SIGTERM takes effect', async () => {
    const svc = node('paused', `console.log('up'); setInterval(() => {}, 1000);`);
    await svc.waitForLine(/^up$/);
    svc.signal('SIGSTOP');
    await waitFor(() => processState(svc.pid) === 'T', { what: `${svc.name} to be stopped` });
    await expect(svc.stop(10_000)).resolves.toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('keeps only the most recent lines', async () => {
    const svc = node('chatty', `for (let i = 0; i < 3000; i++) console.log('line ' + i);`);
    await expect(svc.exited).resolves.toEqual({ code: 0, signal: null });
    expect(svc.totalLines).toBe(3000);
    expect(svc.lines).toHaveLength(MAX_LINES);
    expect(svc.lines[0]).toBe(`line ${3000 - MAX_LINES}`);
    expect(svc.lines[MAX_LINES - 1]).toBe('line 2999');
  });

  it('throws when the command cannot be spawned', () => {
    expect(() => spawnService({ command: '/nonexistent/flotilla-binary', args: [], name: 'ghost' })).toThrow(/ghost: could not spawn/);
  });

  it('cleanupAll() stops every service still running', async () => {
    const a = node('a', `console.log('up'); setInterval(() => {}, 1000);`);
    const b = node('b', `process.on('SIGTERM', () => process.exit(7)); console.log('up'); setInterval(() => {}, 1000);`);
    await Promise.all([a.waitForLine(/up/), b.waitForLine(/up/)]);
    await cleanupAll();
    expect(a.exitInfo).toEqual({ code: null, signal: 'SIGTERM' });
    expect(b.exitInfo).toEqual({ code: 7, signal: null });
    expect(processState(a.pid)).toBeUndefined();
    expect(processState(b.pid)).toBeUndefined();
  });
});
