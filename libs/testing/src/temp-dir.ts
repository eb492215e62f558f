// Temporary directories for tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Creates a fresh directory whose name starts with `prefix`: under the Jest run's own folder
 * (FLOTILLA_TEST_TMPDIR, from tools/jest/global-setup.js, removed when the run ends), else under
 * os.tmpdir().
 */
export function makeTempDir(prefix: string): string {
  const runRoot = process.env.FLOTILLA_TEST_TMPDIR;
  const parent = runRoot && fs.existsSync(runRoot) ? runRoot : os.tmpdir();
  return fs.mkdtempSync(path.join(parent, prefix));
}

/** Removes a directory tree (rm -rf); never throws. */
export function removeTempDir(dir: string | undefined): void {
  if (!dir) return;
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  } catch {
    // Tolerant: a test's cleanup must not fail because of a leftover directory.
  }
}
