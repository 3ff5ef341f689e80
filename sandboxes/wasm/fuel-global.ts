/**
 * The exported global fuel metering adds (fuel.ts). Kept apart so the guest threads, which only
 * read and set it, never load binaryen.js.
 */
export const FUEL_GLOBAL = '__strata_fuel';
