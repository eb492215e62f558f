import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testAuthority } from './pki';
import { makeTempDir, removeTempDir } from './temp-dir';

// The preset's global set-up and tear-down, as Jest runs them around every project's tests.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const globalSetup: () => Promise<void> = require('../../../tools/jest/global-setup.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const globalTeardown: () => Promise<void> = require('../../../tools/jest/global-teardown.js');

const inside = (dir: string, parent: string): boolean => path.relative(parent, dir).split(path.sep)[0] !== '..';

describe('test folders', () => {
  it('live under the Jest run’s own folder, the test CA too', () => {
    const runRoot = process.env.FLOTILLA_TEST_TMPDIR;
    expect(runRoot).toBeDefined();
    expect(fs.statSync(runRoot as string).isDirectory()).toBe(true);
    const dir = makeTempDir('flotilla-temp-dir-test-');
    try {
      expect(path.dirname(dir)).toBe(runRoot);
      expect(path.basename(dir)).toMatch(/^flotilla-temp-dir-test-/);
    } finally {
      removeTempDir(dir);
    }
    expect(inside(testAuthority().dir, runRoot as string)).toBe(true);
  });

  it('are removed with the run’s folder at tear-down, whatever they hold', async () => {
    const outer = process.env.FLOTILLA_TEST_TMPDIR;
    try {
      await globalSetup();
      const runRoot = process.env.FLOTILLA_TEST_TMPDIR as string;
      expect(runRoot).not.toBe(outer);
      expect(path.dirname(runRoot)).toBe(os.tmpdir());
      const dir = makeTempDir('flotilla-left-behind-');
      fs.mkdirSync(path.join(dir, 'nested'));
      fs.writeFileSync(path.join(dir, 'nested', 'file'), 'x');
      await globalTeardown();
      expect(fs.existsSync(dir)).toBe(false);
      expect(fs.existsSync(runRoot)).toBe(false);
      expect(process.env.FLOTILLA_TEST_TMPDIR).toBeUndefined();
      // Without a run folder, test folders go straight under os.tmpdir().
      const plain = makeTempDir('flotilla-temp-dir-test-');
      try {
        expect(path.dirname(plain)).toBe(os.tmpdir());
      } finally {
        removeTempDir(plain);
      }
    } finally {
      if (outer === undefined) delete process.env.FLOTILLA_TEST_TMPDIR;
      else process.env.FLOTILLA_TEST_TMPDIR = outer;
    }
  });

  it('are removed without crossing into a file system mounted under them (a leaked engine’s containers)', async () => {
    const outer = process.env.FLOTILLA_TEST_TMPDIR;
    let mountPoint: string | undefined;
    let runRoot: string | undefined;
    try {
      await globalSetup();
      runRoot = process.env.FLOTILLA_TEST_TMPDIR as string;
      const engineDir = makeTempDir('flotilla-engines-');
      fs.writeFileSync(path.join(engineDir, 'owned'), 'x');
      const merged = path.join(engineDir, 'merged');
      fs.mkdirSync(merged);
      // Tests run as root (they start Docker engines), so they may mount.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'flotilla-test', merged]);
      mountPoint = merged;
      fs.writeFileSync(path.join(mountPoint, 'host-file'), 'keep');
      await globalTeardown();
      expect(fs.readFileSync(path.join(mountPoint, 'host-file'), 'utf8')).toBe('keep');
      expect(fs.existsSync(path.join(engineDir, 'owned'))).toBe(false);
    } finally {
      if (mountPoint) execFileSync('umount', [mountPoint]);
      removeTempDir(runRoot);
      if (outer === undefined) delete process.env.FLOTILLA_TEST_TMPDIR;
      else process.env.FLOTILLA_TEST_TMPDIR = outer;
    }
  });
});
