import type { Image } from '@flotilla/proto';

const repositoryOf = (tag: string) => {
  const colon = tag.lastIndexOf(':');
  return colon > tag.lastIndexOf('/') ? tag.slice(0, colon) : tag;
};

/**
 * Whether a listing filter names the image, as `docker images REF` reads it: a repository names
 * every tag of it; NAME:TAG and NAME@DIGEST one image; an ID, or a prefix of one of at least 12
 * hex digits or after "sha256:", the image itself (a short hex word is a repository name).
 */
export function imageListed(image: Image, ref: string): boolean {
  const id = image.id.replace(/^sha256:/, '');
  const hex = ref.replace(/^sha256:/, '');
  if ((hex.length >= 12 || hex !== ref) && /^[0-9a-f]+$/.test(hex) && id.startsWith(hex)) return true;
  if (image.repoDigests.includes(ref) || image.repoTags.includes(ref)) return true;
  return image.repoTags.some((tag) => repositoryOf(tag) === ref);
}
