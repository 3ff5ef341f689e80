import { z } from 'zod';

/** Settings of the master part (filled in by the issue that builds it). */
export const masterSection = z.object({}).prefault({});
