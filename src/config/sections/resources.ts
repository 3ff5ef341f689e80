import { z } from 'zod';

/** Settings of the resources part (filled in by the issue that builds it). */
export const resourcesSection = z.object({}).prefault({});
