import { FlotillaError } from '@flotilla/errors';

/**
 * The domain error a call fails with (the clients turn every status into one); a call that
 * succeeds, or fails with anything else, fails the test.
 */
export async function failureOf(p: Promise<unknown>): Promise<FlotillaError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FlotillaError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
