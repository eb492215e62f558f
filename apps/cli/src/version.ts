import { buildInfo, type BuildInfo } from '@flotilla/config';

/** This CLI's version and build: apps/cli/package.json and dist/build-info.json (see tools/build-info.js). */
export function cliBuild(): BuildInfo {
  return buildInfo(__dirname, '@flotilla/cli');
}

/** The version in apps/cli/package.json. */
export function cliVersion(): string {
  return cliBuild().version;
}
