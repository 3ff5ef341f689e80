import { z } from 'zod';

/** Settings of the link part (filled in by the issue that builds it). */
export const linkSection = z.object({}).prefault({});
