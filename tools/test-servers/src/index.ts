/**
 * Servers oobkit's tests and benchmarks start for themselves, on loopback, in a temp folder
 * (never a shared or remote one). Used from source (TypeScript) by vitest and tsx; not published.
 */
export { type PgServer, startPgServer } from './postgres.js';
