// One temporary folder for a Jest run: libs/testing's makeTempDir puts every test folder under it,
// and global-teardown.js removes it whatever the tests did. A hook on `process` 'exit' inside a
// test file cannot do this: Jest gives each file its own copy of `process`, which never exits.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  process.env.FLOTILLA_TEST_TMPDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-jest-'));
};
