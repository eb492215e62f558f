// Removes the run's temporary folder made by global-setup.js (tests, failed or not, are over).
// `rm --one-file-system` never crosses a mount point: an engine a failed test left running still has
// its containers' file systems (and their bind mounts of host paths) mounted under its folder.
const { spawnSync } = require('node:child_process');

module.exports = async function globalTeardown() {
  const root = process.env.FLOTILLA_TEST_TMPDIR;
  if (!root) return;
  delete process.env.FLOTILLA_TEST_TMPDIR;
  // A skipped mount makes rm exit non-zero; what it could remove is gone, and that is enough.
  spawnSync('rm', ['-rf', '--one-file-system', '--', root], { stdio: 'ignore' });
};
