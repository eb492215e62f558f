import { FailedPreconditionError, UnavailableError } from '@flotilla/errors';
import { compareApiVersions, maximumApiVersion, minimumApiVersion, negotiateApiVersion } from './api-version';

describe('negotiateApiVersion', () => {
  it('uses the engine version when it is within range', () => {
    expect(negotiateApiVersion({ ApiVersion: '1.41' }, 'e')).toEqual({ apiVersion: '1.41', engineMaxApiVersion: '1.41' });
  });

  it('caps a newer engine at the agent maximum', () => {
    expect(negotiateApiVersion({ ApiVersion: '1.47' }, 'e')).toEqual({ apiVersion: maximumApiVersion, engineMaxApiVersion: '1.47' });
  });

  it('refuses an engine below the minimum, naming versions and engine', () => {
    expect(() => negotiateApiVersion({ ApiVersion: '1.39', Version: '18.09.1' }, 'unix:///x.sock')).toThrow(FailedPreconditionError);
    expect(() => negotiateApiVersion({ ApiVersion: '1.39', Version: '18.09.1' }, 'unix:///x.sock')).toThrow(
      `Docker engine at unix:///x.sock speaks API 1.39 (Docker 18.09.1); the agent needs at least API ${minimumApiVersion}`,
    );
  });

  it('treats a reply without a version as an unusable engine', () => {
    expect(() => negotiateApiVersion({}, 'e')).toThrow(UnavailableError);
    expect(() => negotiateApiVersion({ ApiVersion: 'banana' }, 'e')).toThrow(/ApiVersion \("banana"\)/);
  });

  it('compares numerically, not as text', () => {
    expect(compareApiVersions('1.9', '1.41')).toBeLessThan(0);
    expect(compareApiVersions('2.0', '1.41')).toBeGreaterThan(0);
  });
});
