import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/** The version in apps/cli/package.json. */
export function cliVersion(): string {
  if (cached) return cached;
  for (const candidate of [path.join(__dirname, '..', 'package.json'), path.join(__dirname, '..', '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@flotilla/cli' && pkg.version) return (cached = pkg.version);
    } catch {
      // try the next
    }
  }
  return (cached = 'unknown');
}
