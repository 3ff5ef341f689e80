import { z } from 'zod';

/** Settings of the docker part (filled in by the issue that builds it). */
export const dockerSection = z.object({}).prefault({});
