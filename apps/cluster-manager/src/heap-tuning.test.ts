import { spawnSync } from 'node:child_process';
import { deployedScript } from '@flotilla/testing';

// V8 reports each pretenuring decision it makes with --trace-pretenuring-statistics; with
// allocation-site pretenuring off it makes none. The probe allocates 300,000 objects from one site
// and keeps them all, which V8 pretenures when nothing turned it off (the first test shows it).
const survivors = 'const kept = []; for (let i = 0; i < 300000; i++) kept.push({ engine: i, address: "a" }); process.stdout.write(`kept ${kept.length}\\n`);';

function probe(before: string): string {
  const run = spawnSync(process.execPath, ['--trace-pretenuring-statistics', '-e', `${before}\n${survivors}`], { encoding: 'utf8', env: {} });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('kept 300000');
  return run.stdout;
}

describe('heap tuning of the cluster-manager process', () => {
  it('the probe sees V8 pretenure a site when nothing turned it off', () => {
    expect(probe('')).toMatch(/pretenuring: /);
  });

  it('the built manager turns allocation-site pretenuring off as it loads', () => {
    const main = JSON.stringify(deployedScript('apps/cluster-manager/dist/main.js'));
    // main.js runs at once; --version makes it print its line and return without serving.
    const out = probe(`process.argv = [process.argv[0], ${main}, '--version']; require(${main});`);
    expect(out).toMatch(/^flotilla-cluster-manager /m);
    expect(out).not.toMatch(/pretenuring: /);
  });
});
