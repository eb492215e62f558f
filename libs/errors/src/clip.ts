/** The start of a text, at most `chars` characters and an ellipsis, for a message that quotes it. */
export function clip(value: string, chars = 40): string {
  if (value.length <= chars) return value;
  // By code point, so an emoji (a surrogate pair) is never cut in half.
  return `${Array.from(value.slice(0, chars * 2)).slice(0, chars).join('')}…`;
}
