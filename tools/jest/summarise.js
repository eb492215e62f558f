// Prints every failure again (file, test, first lines of the message), then the closing line for
// all projects' tests: "tests: N passed, N failed, N skipped".
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const total = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
for (const file of fs.readdirSync(dir)) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  for (const k of Object.keys(total)) total[k] += r[k];
  failures.push(...(r.failures ?? []));
}
for (const f of failures) {
  console.log(`failed: ${f.file} › ${f.test}`);
  console.log(f.message.replace(/\x1b\[[0-9;]*m/g, '').replace(/^/gm, '    '));
}
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
