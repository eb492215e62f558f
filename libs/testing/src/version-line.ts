import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './engines';

/**
 * What `node SCRIPT --version` prints, for the built service `script` (relative to the repo
 * root), with the shape every Flotilla binary uses: `NAME VERSION (build COMMIT|unknown)`.
 */
export function versionRun(script: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [path.join(repoRoot(), script), '--version'], { encoding: 'utf8', env: {} });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export function versionLinePattern(name: string): RegExp {
  return new RegExp(`^${name} \\d+\\.\\d+\\.\\d+ \\(build ([0-9a-f]{7,64}|unknown)\\)\\n$`);
}
