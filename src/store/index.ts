export { Database } from './database.ts';
