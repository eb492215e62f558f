import { InvalidArgumentError } from '@flotilla/errors';
import { isRole, roles, type Role } from '@flotilla/pki';

/**
 * The gRPC metadata key a cluster-manager names, on each create it sends an engine-agent, the role
 * of the caller it acts for, so the agent checks its own container policy for that role.
 */
export const actingRoleKey = 'flotilla-acting-role';

/**
 * The role a manager acts for, from the values of its `flotilla-acting-role` metadata. None:
 * undefined, which the policy allows nothing of the host. A manager acts for one role only, so
 * several values, or one that is no role, are refused rather than guessed at.
 */
export function actingRoleFrom(values: ReadonlyArray<string | Buffer>): Role | undefined {
  if (values.length === 0) return undefined;
  const field = `metadata ${actingRoleKey}`;
  if (values.length > 1) throw InvalidArgumentError.field(field, values.map(String), 'a manager acts for one role');
  const value = values[0];
  if (typeof value !== 'string' || !isRole(value)) throw InvalidArgumentError.field(field, String(value), `not a Flotilla role (expected one of ${roles.join(', ')})`);
  return value;
}
