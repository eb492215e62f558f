import { InvalidArgumentError } from '@flotilla/errors';
import { actingRoleFrom } from './acting-role';

describe('actingRoleFrom', () => {
  it('reads the one role a manager acts for, and none when it names none', () => {
    expect(actingRoleFrom(['operator'])).toBe('operator');
    expect(actingRoleFrom([])).toBeUndefined();
  });

  it.each([[['operator', 'reader']], [['admin']], [['']], [[Buffer.from('operator')]]])('refuses %p', (values) => {
    expect(() => actingRoleFrom(values)).toThrow(InvalidArgumentError);
    expect(() => actingRoleFrom(values)).toThrow(/^metadata flotilla-acting-role /);
  });
});
