import { InvalidArgumentError } from '@flotilla/errors';
import { compileGlob } from './glob';
import { compileRegex, RegexRefusedError } from './regex';

/**
 * A placement expression, classic Swarm's grammar: `KEY==VALUE` or `KEY!=VALUE`. KEY matches
 * `[a-z_][a-z0-9\-_.]+` (any case). VALUE starting with `~` is soft; `/re/` is an unanchored
 * regular expression; anything else is a glob where `*` matches anything and the whole value must
 * match. Matching ignores case, as classic Swarm's did.
 */
export interface Expression {
  /** As written, for explanations. */
  text: string;
  key: string;
  negated: boolean;
  soft: boolean;
  /** The value without `~`. */
  value: string;
  /** Set when the value is plain text (no glob, no regex): then an index lookup finds the engines. */
  literal: string | undefined;
  matches(candidate: string): boolean;
}

const keyPattern = /^[a-z_][a-z0-9\-_.]+$/i;

export function parseExpression(text: string, field: string): Expression {
  const match = /^([^=!<>~]+)(==|!=)(.*)$/.exec(text.trim());
  if (!match) throw InvalidArgumentError.field(field, text, 'expected KEY==VALUE or KEY!=VALUE');
  const key = match[1].trim();
  if (!keyPattern.test(key)) throw InvalidArgumentError.field(field, text, `key ${JSON.stringify(key)} must match [a-z_][a-z0-9-_.]+`);
  let value = match[3].trim();
  const soft = value.startsWith('~');
  if (soft) value = value.slice(1);
  if (value === '') throw InvalidArgumentError.field(field, text, 'the value is empty');
  let matches: (candidate: string) => boolean;
  let literal: string | undefined;
  if (value.length > 1 && value.startsWith('/') && value.endsWith('/')) {
    try {
      matches = compileRegex(value.slice(1, -1));
    } catch (err) {
      if (err instanceof RegexRefusedError) throw InvalidArgumentError.field(field, text, err.message);
      throw err;
    }
  } else if (value.includes('*')) {
    matches = compileGlob(value);
  } else {
    literal = value.toLowerCase();
    // Exact case first: most labels are written as constrained, and it allocates nothing.
    matches = (candidate) => candidate === value || (candidate.length === value.length && candidate.toLowerCase() === literal);
  }
  return { text: text.trim(), key: key.toLowerCase(), negated: match[2] === '!=', soft, value, literal, matches };
}

/** True when the expression holds for a subject whose values under the key are `values` (none: ""). */
export function holds(expression: Expression, values: Iterable<string>): boolean {
  let any = false;
  let matched = false;
  for (const v of values) {
    any = true;
    if (expression.matches(v)) {
      matched = true;
      break;
    }
  }
  if (!any) matched = expression.matches('');
  return expression.negated ? !matched : matched;
}
