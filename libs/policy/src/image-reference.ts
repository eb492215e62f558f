import { InvalidArgumentError } from '@flotilla/errors';

/*
 * Image references, checked by the manager before anything reaches an engine and by the agent
 * again before Docker: a reference goes into Docker's URL (/images/NAME/json), so only what a
 * reference is made of passes, and no path segment that could climb out of /images.
 */

/** The longest image reference taken, in bytes (ASCII only, by the grammar). */
export const imageReferenceBytes = 512;

const referenceCharacters = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;

/** An image ID (or prefix), NAME[:TAG] or NAME@DIGEST as the caller wrote it, or INVALID_ARGUMENT naming the field. */
export function checkImageReference(field: string, value: string): string {
  if (!value) throw InvalidArgumentError.field(field, value, 'an image reference is required');
  if (value.length > imageReferenceBytes) throw InvalidArgumentError.field(field, `${value.slice(0, 40)}…`, `value is ${value.length} bytes; at most ${imageReferenceBytes}`);
  if (!referenceCharacters.test(value)) throw InvalidArgumentError.field(field, value, 'an image reference is letters, digits and "._-/:@", starting with a letter or digit');
  if (value.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) throw InvalidArgumentError.field(field, value, 'no path segment of an image reference may be empty, "." or ".."');
  if (value.indexOf('@') !== value.lastIndexOf('@')) throw InvalidArgumentError.field(field, value, 'an image reference has at most one "@"');
  return value;
}

/** NAME[:TAG] with Docker's default tag: `busybox` is `busybox:latest`; a digest or a tag is kept. */
export function taggedReference(ref: string): string {
  if (ref.includes('@')) return ref;
  // A colon before the last "/" is a registry port, not a tag.
  return ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref : `${ref}:latest`;
}

// Docker's reference grammar (distribution/reference), without nested repetition: each
// separator must be followed by a letter or digit, so matching is linear.
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const registryHost = /^(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::[0-9]{1,5})?$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A new tag, NAME[:TAG] (without a tag, "latest"), split as Docker's tag call takes it; INVALID_ARGUMENT naming the field. */
export function checkNewImageTag(field: string, value: string): { repo: string; tag: string } {
  checkImageReference(field, value);
  if (value.includes('@')) throw InvalidArgumentError.field(field, value, 'a tag cannot carry a digest');
  const slash = value.lastIndexOf('/');
  const colon = value.lastIndexOf(':');
  const repo = colon > slash ? value.slice(0, colon) : value;
  const tag = colon > slash ? value.slice(colon + 1) : 'latest';
  if (!tagPattern.test(tag)) throw InvalidArgumentError.field(field, value, `the tag ${JSON.stringify(tag)} is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  const components = repo.split('/');
  // As Docker reads it: a first component with ".", ":" or "localhost" is a registry host.
  const first = components[0];
  const hasHost = components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost && !registryHost.test(first)) throw InvalidArgumentError.field(field, value, `${JSON.stringify(first)} is not a registry host[:port]`);
  for (const component of hasHost ? components.slice(1) : components) {
    if (!pathComponent.test(component)) throw InvalidArgumentError.field(field, value, `the name component ${JSON.stringify(component)} must be lower-case letters and digits, separated by ".", "_", "__" or "-"`);
  }
  return { repo, tag };
}
