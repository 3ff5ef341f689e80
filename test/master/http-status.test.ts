/** The Master's HTTP statuses come from the one code -> status map (src/core/errors.ts). */
import { expect, it } from 'vitest';
import { httpStatusOf } from '../../src/core/errors.ts';

it("control replies keep the Master's statuses: unavailable 503, timeout 504, the worker's own codes, else 409", () => {
  expect(httpStatusOf('unavailable', 'control')).toBe(503);
  expect(httpStatusOf('timeout', 'control')).toBe(504);
  expect(httpStatusOf('not_found', 'control')).toBe(404);
  expect(httpStatusOf('forbidden', 'control')).toBe(403);
  expect(httpStatusOf('invalid_request', 'control')).toBe(400);
  expect(httpStatusOf('conflict', 'control')).toBe(409);
  expect(httpStatusOf('internal', 'control')).toBe(409);
  // Outside control routes a code without a status is a bug (500), as in the worker gateway.
  expect(httpStatusOf('internal')).toBe(500);
  expect(httpStatusOf('unavailable')).toBe(503);
});
