import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './engines';

// Node.js 20 stopped receiving security fixes in April 2026: everything runs on 24 LTS, which the
// project's scripts install (tools/node.sh). The services the tests start use this same binary.
it('runs on Node.js 24 or later, as package.json requires', () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { engines: { node: string } };
  expect(manifest.engines.node).toBe('>=24');
});
