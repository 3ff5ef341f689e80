import { z } from 'zod';

/** Settings of the plugins part (filled in by the issue that builds it). */
export const pluginsSection = z.object({}).prefault({});
