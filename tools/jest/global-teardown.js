// Removes the run's temporary folder made by global-setup.js (tests, failed or not, are over).
const fs = require('node:fs');

module.exports = async function globalTeardown() {
  const root = process.env.FLOTILLA_TEST_TMPDIR;
  if (!root) return;
  delete process.env.FLOTILLA_TEST_TMPDIR;
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
};
