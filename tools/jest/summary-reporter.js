// Writes each Jest run's totals, and the name and first lines of every failure, to
// $FLOTILLA_TEST_RESULTS so tools/test.sh can close with one line for every project together and
// repeat the failures last, where a CI log that keeps only its tail still shows them.
const fs = require('node:fs');
const path = require('node:path');

const messageLines = 30;

function failuresOf(results) {
  const failures = [];
  for (const suite of results.testResults) {
    const file = path.relative(process.cwd(), suite.testFilePath);
    if (suite.testExecError) {
      failures.push({ file, test: '(suite did not run)', message: String(suite.testExecError.message ?? suite.testExecError) });
    }
    for (const test of suite.testResults) {
      if (test.status !== 'failed') continue;
      failures.push({ file, test: test.fullName, message: test.failureMessages.join('\n') });
    }
  }
  // Jest's own stack frames say nothing about the failure; keep the test's lines.
  const keep = (line) => !/node_modules[\\/]|\(<anonymous>\)|node:internal/.test(line);
  return failures.map((f) => ({ ...f, message: f.message.split('\n').filter(keep).slice(0, messageLines).join('\n') }));
}

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const dir = process.env.FLOTILLA_TEST_RESULTS;
    if (!dir) return;
    const file = path.join(dir, `${process.pid}-${Date.now()}.json`);
    fs.writeFileSync(file, JSON.stringify({
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      failures: failuresOf(results),
    }));
  }
}

module.exports = SummaryReporter;
