/**
 * Whether `labels` has every wanted label: KEY=VALUE, or KEY=* for the key with any value. Own keys
 * only: a filter on `constructor` or `toString` must not match every object through its prototype.
 */
export function labelsMatch(labels: Readonly<Record<string, string>>, wanted: ReadonlyArray<readonly [string, string]>): boolean {
  return wanted.every(([key, value]) => Object.hasOwn(labels, key) && (value === '*' || labels[key] === value));
}
