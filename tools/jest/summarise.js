// Prints the closing line for all projects' tests: "tests: N passed, N failed, N skipped".
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const total = { passed: 0, failed: 0, skipped: 0 };
for (const file of fs.readdirSync(dir)) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  for (const k of Object.keys(total)) total[k] += r[k];
}
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
