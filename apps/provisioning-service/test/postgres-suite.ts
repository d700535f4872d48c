import { type PgServer, startPgServer } from '@oobkit/test-servers';
import { afterAll, describe, it } from 'vitest';

/**
 * Registers `body`'s tests under `name`, with a throw-away PostgreSQL server for them, stopped
 * after them. Without PostgreSQL's binaries the group is one skipped test that says why —
 * except under `CI=true`, where `startPgServer` throws and the file fails.
 */
export async function describeWithPostgres(name: string, body: (server: PgServer) => void): Promise<void> {
  const server = await startPgServer();
  describe(name, () => {
    if ('unavailable' in server) {
      it.skip(server.unavailable, () => undefined);
      return;
    }
    afterAll(() => server.stop());
    body(server);
  });
}
