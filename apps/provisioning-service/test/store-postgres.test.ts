/**
 * The SiteStore contract on PostgreSQL: a throw-away server for this file (test/pg-server.ts),
 * a fresh database per test. Without PostgreSQL's binaries the suite is skipped, saying why,
 * except under `CI=true`, where that is a failure.
 */
import { afterAll, describe, it } from 'vitest';
import { staticKeyProvider } from '../src/secrets/index.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { startPgServer } from './pg-server.js';
import { describeSiteStoreContract } from './store-contract.js';

const server = await startPgServer();

if ('unavailable' in server) {
  describe('SiteStore contract: PostgreSQL', () => {
    it.skip(server.unavailable, () => undefined);
  });
} else {
  afterAll(() => server.stop());
  describeSiteStoreContract('PostgreSQL', {
    reopenable: true,
    async createDatabase() {
      const name = await server.createDatabase();
      return {
        open: ({ now, key }) =>
          openPostgresStore({ connectionString: server.url(name), keyProvider: staticKeyProvider(key), now }),
        dispose: () => server.dropDatabase(name),
      };
    },
  });
}
