import { spawnSync } from 'node:child_process';
import { deployedScript } from './deployed';

/**
 * What `node SCRIPT --version` prints, for the built service `script` (relative to the repo
 * root; its deploy output is run, see deployedScript), with the shape every Flotilla binary uses: `NAME VERSION (build COMMIT|unknown)`.
 */
export function versionRun(script: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [deployedScript(script), '--version'], { encoding: 'utf8', env: {} });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export function versionLinePattern(name: string): RegExp {
  return new RegExp(`^${name} \\d+\\.\\d+\\.\\d+ \\(build ([0-9a-f]{7,64}|unknown)\\)\\n$`);
}
