import { describe, expect, it } from 'vitest';
import { withAdminAudit } from './audit.js';
import { staticKeyProvider } from './secrets/index.js';
import { openSqliteStore } from './store/sqlite.js';

const U1 = '8f3a1c2e-0000-4000-8000-000000000001';

describe('withAdminAudit', () => {
  it('records one event per administrative change, saying through which door, never a secret', async () => {
    const raw = await openSqliteStore({
      path: ':memory:',
      keyProvider: staticKeyProvider(Buffer.alloc(32, 5)),
    });
    const store = withAdminAudit(raw, 'cli');
    try {
      await store.importComputers([
        { uuid: U1, hostName: 'pc-1', domainName: 'corp.example.com', source: 'import' },
      ]);
      const c = await store.addCredential({
        label: 'factory',
        username: 'admin',
        password: 'Secr3t!pass',
        priority: 2,
      });
      await store.putSettings(await store.getSettings());
      expect(await store.deleteCredential(c.id)).toBe(true);
      // Nothing deleted, nothing recorded.
      expect(await store.deleteCredential(999)).toBe(false);
      expect(await store.setProvisioningCertificateEnabled(7, false)).toBe(false);
      expect(await store.deleteComputer(U1)).toBe(true);

      const events = await raw.listEvents();
      expect(events.map((e) => [e.type, e.level, e.data?.by])).toEqual([
        ['computers.imported', 'info', 'cli'],
        ['credential.added', 'info', 'cli'],
        ['settings.changed', 'info', 'cli'],
        ['credential.deleted', 'info', 'cli'],
        ['computer.deleted', 'info', 'cli'],
      ]);
      expect(events[0]?.data).toEqual({ created: 1, updated: 0, by: 'cli' });
      expect(events[1]?.data).toEqual({
        id: c.id,
        label: 'factory',
        username: 'admin',
        priority: 2,
        by: 'cli',
      });
      expect(events[4]?.uuid).toBe(U1);
      expect(JSON.stringify(events)).not.toContain('Secr3t!pass');
      // Reads pass straight through, unrecorded.
      expect(await store.listCredentials()).toEqual([]);
      expect(await raw.listEvents()).toHaveLength(5);
    } finally {
      await raw.close();
    }
  });

  it('records nothing when the change is refused', async () => {
    const raw = await openSqliteStore({
      path: ':memory:',
      keyProvider: staticKeyProvider(Buffer.alloc(32, 5)),
    });
    const store = withAdminAudit(raw, 'api');
    try {
      await expect(
        store.importComputers([{ uuid: 'nope', hostName: 'x', domainName: 'y.z', source: 'import' }]),
      ).rejects.toMatchObject({
        code: 'STORE_INVALID_INPUT',
      });
      expect(await raw.listEvents()).toEqual([]);
    } finally {
      await raw.close();
    }
  });
});
