import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRsaKeyCache } from '@oobkit/provisioning-cert';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staticKeyProvider } from '../secrets/index.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { SiteStore } from '../store/types.js';
import { builtInCertificateAuthority } from './index.js';

const keys = createRsaKeyCache();
const request = (n: number) => ({
  fqdn: `pc-${n}.corp.example.com`,
  uuid: `8f3a1c2e-0000-4000-8000-00000000000${n}`,
});

let dir: string;
let store: SiteStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oobkit-ca-'));
  store = await openSqliteStore({ path: ':memory:', keyProvider: staticKeyProvider(Buffer.alloc(32, 3)) });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the built-in device CA kept in the site store', () => {
  it('is created once: instances starting together, and after a restart, issue under the same CA', async () => {
    const a = builtInCertificateAuthority({ store, keys });
    const b = builtInCertificateAuthority({ store, keys: createRsaKeyCache() });
    const [x, y] = await Promise.all([a.issueTlsCertificate(request(1)), b.issueTlsCertificate(request(2))]);
    expect(x.caPem).toBe(y.caPem);
    expect((await store.getDeviceCa())?.certPem).toBe(x.caPem);
    const later = await builtInCertificateAuthority({ store, keys }).issueTlsCertificate(request(3));
    expect(later.caPem).toBe(x.caPem);
  });

  it('moves a CA an earlier oobkit kept as files into the store, and keeps using it', async () => {
    const onDisk = await builtInCertificateAuthority({ dir, keys }).issueTlsCertificate(request(1));
    expect(await store.getDeviceCa()).toBeUndefined();
    const moved = await builtInCertificateAuthority({ store, dir, keys }).issueTlsCertificate(request(2));
    expect(moved.caPem).toBe(onDisk.caPem);
    expect((await store.getDeviceCa())?.certPem).toBe(onDisk.caPem);
    // The plaintext key file is gone once the store holds the CA (sealed); the certificate stays.
    expect(existsSync(join(dir, 'device-ca-key.pem'))).toBe(false);
    expect(existsSync(join(dir, 'device-ca.pem'))).toBe(true);
    const again = await builtInCertificateAuthority({ store, dir, keys }).issueTlsCertificate(request(3));
    expect(again.caPem).toBe(onDisk.caPem);
  });

  it('leaves files of another CA alone when the store holds its own', async () => {
    await builtInCertificateAuthority({ store, keys }).issueTlsCertificate(request(1));
    await builtInCertificateAuthority({ dir, keys: createRsaKeyCache() }).issueTlsCertificate(request(2));
    await builtInCertificateAuthority({ store, dir, keys }).issueTlsCertificate(request(3));
    expect(existsSync(join(dir, 'device-ca-key.pem'))).toBe(true);
  });
});
