import * as path from 'node:path';
import { repoRoot } from './engines';

/**
 * What tests run of an app: its deploy output (tools/deploy/bundle.js, made by the app's build),
 * so what is tested is what is deployed. `script` names the app's built entry as callers always
 * have, `apps/NAME/dist/main.js`, relative to the repo root; it becomes the absolute path of
 * `apps/NAME/deploy/main.js`. Anything else (a library's own main.js) is run as it is.
 */
export function deployedScript(script: string): string {
  const app = /^apps\/([a-z-]+)\/dist\/main\.js$/.exec(script);
  return path.join(repoRoot(), app ? path.join('apps', app[1], 'deploy', 'main.js') : script);
}
