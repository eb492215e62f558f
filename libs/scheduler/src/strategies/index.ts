import { InvalidArgumentError } from '@flotilla/errors';
import { binpackStrategy } from './binpack-strategy';
import { randomStrategy } from './random-strategy';
import { spreadStrategy } from './spread-strategy';
import type { Strategy } from './strategy';

export * from './strategy';
export { binpackStrategy, randomStrategy, spreadStrategy };

export const strategyNames = ['spread', 'binpack', 'random'] as const;

export function strategyByName(name: string, random?: () => number, field = 'strategy'): Strategy {
  switch (name) {
    case 'spread':
      return spreadStrategy;
    case 'binpack':
      return binpackStrategy;
    case 'random':
      return randomStrategy(random);
    default:
      throw InvalidArgumentError.field(field, name, `expected one of ${strategyNames.join(', ')}`);
  }
}
