import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RegistryAuth } from '@flotilla/proto';
import { CliError, ExitCode } from './errors';
import { defaultConfigPath } from './settings';

/*
 * Registry credentials as the docker CLI keeps them (`docker login`): a JSON file of
 * {"auths": {"REGISTRY": {"auth": base64("USER:PASSWORD")}}}, readable by its owner only, next to
 * the CLI's config file. The CLI sends the entry of an image's registry with each pull (pull, run);
 * the cluster passes it to the engines for that pull and keeps nothing.
 */

/** Docker's name for Docker Hub in its credentials file. */
const dockerHubKey = 'https://index.docker.io/v1/';

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [other: string]: unknown;
}

export function credentialsPath(env: NodeJS.ProcessEnv): string {
  return path.join(path.dirname(defaultConfigPath(env)), 'auth.json');
}

/** The registry an image reference pulls from, as Docker decides it: a first component with "." or ":", or localhost; else Docker Hub. */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return dockerHubKey;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : dockerHubKey;
}

/** A registry as the user typed it (docker login's argument): a host[:port], with any scheme and path dropped; Docker Hub's names as Docker keeps them. */
export function normaliseRegistry(text: string): string {
  const trimmed = text.trim().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (!trimmed) throw new CliError('a registry (HOST[:PORT]) is required', ExitCode.usage);
  if (['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(trimmed)) return dockerHubKey;
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(trimmed)) throw new CliError(`registry ${JSON.stringify(text)}: expected HOST[:PORT]`, ExitCode.usage);
  return trimmed;
}

function readFile(file: string): AuthFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read the registry credentials ${file}: ${(err as Error).message}`, ExitCode.error);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as AuthFile;
  } catch (err) {
    throw new CliError(`the registry credentials ${file} are not valid JSON (${(err as Error).message}); fix or remove the file`, ExitCode.error);
  }
}

/** Replaces the file at once (a reader never sees half of it), readable by its owner only. */
function writeFile(file: string, content: AuthFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const part = `${file}.${process.pid}.part`;
  fs.writeFileSync(part, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(part, file);
}

export function saveCredentials(file: string, registry: string, username: string, password: string): void {
  const content = readFile(file);
  content.auths = { ...content.auths, [registry]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  writeFile(file, content);
}

/** Removes a registry's entry; false when there was none. */
export function removeCredentials(file: string, registry: string): boolean {
  const content = readFile(file);
  if (!content.auths?.[registry]) return false;
  const { [registry]: _removed, ...rest } = content.auths;
  content.auths = rest;
  writeFile(file, content);
  return true;
}

/** The credentials kept for the registry of `image`, as the API takes them; none when there are none. */
export function credentialsFor(env: NodeJS.ProcessEnv, image: string): RegistryAuth | undefined {
  const file = credentialsPath(env);
  const registry = registryOf(image);
  const entry = readFile(file).auths?.[registry];
  if (!entry) return undefined;
  if (entry.identitytoken) return { username: '', password: '', identityToken: entry.identitytoken, serverAddress: registry };
  const decoded = Buffer.from(entry.auth ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new CliError(`the registry credentials of ${registry} in ${file} are not USER:PASSWORD in base64; log in again with flotilla login ${registry}`, ExitCode.error);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), identityToken: '', serverAddress: registry };
}
