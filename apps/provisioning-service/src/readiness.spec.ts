import { createRsaKeyCache, createTestPki, type TestPki } from '@oobkit/provisioning-cert';
import { beforeAll, describe, expect, it } from 'vitest';
import { testPkiCertificate } from './demo.js';
import { readinessReport, readinessWarnings } from './readiness.js';
import { staticKeyProvider } from './secrets/index.js';
import { openSqliteStore } from './store/sqlite.js';
import type { SiteStore } from './store/types.js';

const keys = createRsaKeyCache({ keysPerSize: 1 });
const DAY = 86_400_000;
let pki: TestPki;

beforeAll(async () => {
  pki = await createTestPki({
    serverFqdn: 'provision.corp.example.com',
    keys,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
  });
});

async function site(fill: (s: SiteStore) => Promise<void>): Promise<SiteStore> {
  const s = await openSqliteStore({ path: ':memory:', keyProvider: staticKeyProvider(Buffer.alloc(32, 3)) });
  await fill(s);
  return s;
}

const addCert = (s: SiteStore, enabled = true) =>
  s.addProvisioningCertificate(testPkiCertificate(pki, 'corp', enabled));

const ready = (s: SiteStore) =>
  Promise.all([
    addCert(s),
    s.addCredential({ label: 'factory', username: 'admin', password: 'admin', priority: 1 }),
    s.importComputers([
      {
        uuid: '8f3a1c2e-0000-4000-8000-00000000000a',
        hostName: 'pc',
        domainName: 'corp.example.com',
        source: 'import',
      },
    ]),
  ]).then(() => undefined);

describe('readinessWarnings', () => {
  it('names each missing piece of an empty site, with the command that fixes it', async () => {
    const w = await readinessWarnings(await site(async () => undefined), new Date('2026-06-01T00:00:00Z'));
    expect(w).toHaveLength(3);
    expect(w[0]).toMatch(/^no enabled provisioning certificate: .*`oobkit certs add`$/);
    expect(w[1]).toMatch(/^no AMT credentials: .*`oobkit credentials add`$/);
    expect(w[2]).toMatch(/^no computers imported: .*`oobkit import`$/);
  });

  it('is silent for a site that can provision', async () => {
    expect(await readinessWarnings(await site(ready), new Date('2026-06-01T00:00:00Z'))).toEqual([]);
  });

  it('counts only enabled certificates', async () => {
    const s = await site(async (st) => {
      await addCert(st, false);
      await st.addCredential({ label: 'factory', username: 'admin', password: 'admin', priority: 1 });
      await st.importComputers([
        {
          uuid: '8f3a1c2e-0000-4000-8000-00000000000b',
          hostName: 'pc',
          domainName: 'corp.example.com',
          source: 'import',
        },
      ]);
    });
    const w = await readinessWarnings(s, new Date('2026-06-01T00:00:00Z'));
    expect(w).toEqual([expect.stringMatching(/^no enabled provisioning certificate/)]);
  });

  it('warns of a provisioning certificate that expired, expires within 30 days, or is not valid yet', async () => {
    const s = await site(ready);
    const end = new Date('2027-01-01T00:00:00Z').getTime();
    expect(await readinessWarnings(s, new Date(end + DAY))).toEqual([
      'provisioning certificate "corp" expired on 2027-01-01: devices will refuse it; add a renewed one with `oobkit certs add`, then `oobkit certs disable 1`',
    ]);
    expect(await readinessWarnings(s, new Date(end - 10 * DAY + 1000))).toEqual([
      'provisioning certificate "corp" expires in 10 day(s), on 2027-01-01: renew it (`oobkit certs add`, then `oobkit certs disable 1`)',
    ]);
    expect(await readinessWarnings(s, new Date(end - 31 * DAY))).toEqual([]);
    expect(await readinessWarnings(s, new Date('2025-12-01T00:00:00Z'))).toEqual([
      'provisioning certificate "corp" is not valid before 2026-01-01: devices will refuse it until then',
    ]);
  });

  it('tells blockers from warnings: the site is ready while one enabled certificate is usable', async () => {
    const s = await site(ready);
    const end = new Date('2027-01-01T00:00:00Z').getTime();
    // Expiring soon: still ready, with a warning.
    expect(await readinessReport(s, new Date(end - 10 * DAY + 1000))).toEqual({
      ready: true,
      blockers: [],
      warnings: [expect.stringMatching(/expires in 10 day\(s\)/)],
    });
    // Expired, and the only one: not ready.
    expect(await readinessReport(s, new Date(end + DAY))).toEqual({
      ready: false,
      blockers: [expect.stringMatching(/expired on 2027-01-01/)],
      warnings: [],
    });
    // Expired beside a usable renewal: ready, the expired one a warning to disable it.
    const renewed = await createTestPki({
      serverFqdn: 'provision.corp.example.com',
      keys,
      notBefore: new Date('2026-12-01T00:00:00Z'),
      notAfter: new Date('2028-01-01T00:00:00Z'),
    });
    await s.addProvisioningCertificate(testPkiCertificate(renewed, 'renewed'));
    expect(await readinessReport(s, new Date(end + DAY))).toEqual({
      ready: true,
      blockers: [],
      warnings: [expect.stringMatching(/"corp" expired on 2027-01-01.*`oobkit certs disable 1`/)],
    });
    // An empty site: three blockers.
    const empty = await readinessReport(await site(async () => undefined));
    expect(empty.ready).toBe(false);
    expect(empty.blockers).toHaveLength(3);
  });
});
