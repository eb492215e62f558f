// Writes each Jest run's totals to $FLOTILLA_TEST_RESULTS so tools/test.sh can print one closing
// line for every project together.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const dir = process.env.FLOTILLA_TEST_RESULTS;
    if (!dir) return;
    const file = path.join(dir, `${process.pid}-${Date.now()}.json`);
    fs.writeFileSync(file, JSON.stringify({
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    }));
  }
}

module.exports = SummaryReporter;
