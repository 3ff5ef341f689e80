import { z } from 'zod';

/** Settings of the process part (filled in by the issue that builds it). */
export const processSection = z.object({}).prefault({});
