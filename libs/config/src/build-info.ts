import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/*
 * What a service or the CLI says of itself (--version, the "configuration" line): its package's
 * version, and the commit it was built from, which the build writes to dist/build-info.json
 * (tools/build-info.js). Nothing runs git at run time; without the file the build is "unknown".
 */

export interface BuildInfo {
  /** The package's version, e.g. 0.1.0; "unknown" when its package.json cannot be read. */
  version: string;
  /** The git commit the build was made from, or "unknown". */
  build: string;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const cache = new Map<string, BuildInfo>();

/**
 * The build of the package whose compiled (dist/) or source (src/) directory is `dir`, normally
 * the caller's `__dirname`. `packageName` guards against reading some other package.json.
 */
export function buildInfo(dir: string, packageName: string): BuildInfo {
  const key = `${dir}\0${packageName}`;
  let info = cache.get(key);
  if (info) return info;
  const root = path.dirname(dir);
  const pkg = readJson(path.join(root, 'package.json'));
  const version = pkg?.name === packageName && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  const written = readJson(path.join(root, 'dist', 'build-info.json'));
  const commit = typeof written?.commit === 'string' && /^[0-9a-f]{7,64}$/.test(written.commit) ? written.commit : 'unknown';
  cache.set(key, (info = { version, build: commit }));
  return info;
}

/** The --version line: `NAME VERSION (build COMMIT)`. */
export function versionLine(name: string, info: BuildInfo): string {
  return `${name} ${info.version} (build ${info.build})\n`;
}
