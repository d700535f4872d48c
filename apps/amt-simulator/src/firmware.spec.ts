import { amtDigestPassword } from '@oobkit/http-digest';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SPEC_REALM, specFirmware } from './spec-firmware.js';
import { REMOTE_TLS_ID } from './state.js';
import { PT } from './status.js';

const REALM = SPEC_REALM;
const firmware = specFirmware;

const digest = (user: string, pw: string) => amtDigestPassword(user, REALM, pw).base64;
const ha1Hex = (user: string, realm: string, pw: string) => amtDigestPassword(user, realm, pw).hex;

describe('firmware rules', () => {
  it('logs the admin in with the MEBx password until an admin password is committed', () => {
    const fw = firmware();
    expect(fw.ha1For('admin')).toBe(ha1Hex('admin', REALM, 'admin'));
    expect(fw.setAdminAclEntryEx('admin', digest('admin', 'N3w!passw')).status).toBe(PT.SUCCESS);
    expect(fw.ha1For('admin')).toBe(ha1Hex('admin', REALM, 'admin'));
    expect(fw.commitChanges().status).toBe(PT.SUCCESS);
    expect(fw.ha1For('admin')).toBe(ha1Hex('admin', REALM, 'N3w!passw'));
    expect(fw.provisioningState).toBe('post');
  });

  it('refuses bad ACL input and changes nothing', () => {
    const fw = firmware();
    const entry = fc.record({
      username: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      digestPasswordB64: fc.option(fc.base64String({ maxLength: 32 }), { nil: undefined }),
      kerberosSid: fc.option(fc.base64String({ maxLength: 40 }), { nil: undefined }),
      accessPermission: fc.integer({ min: -1, max: 4 }),
      realms: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(entry, (e) => {
        const before = JSON.stringify(fw.mem.current.userAcls);
        const input = Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as typeof e;
        const r = fw.addUserAclEntryEx(input);
        if (r.status !== PT.SUCCESS) expect(JSON.stringify(fw.mem.current.userAcls)).toBe(before);
        else fw.removeUserAclEntry(r.value?.handle ?? 0);
      }),
    );
  });

  it('caps digest users at 7 and refuses duplicates and the admin name', () => {
    const fw = firmware();
    const add = (name: string) =>
      fw.addUserAclEntryEx({
        username: name,
        digestPasswordB64: digest(name, 'x'),
        accessPermission: 2,
        realms: [3],
      });
    for (let i = 0; i < 7; i++) expect(add(`u${i}`).status).toBe(PT.SUCCESS);
    expect(add('u7').status).toBe(PT.MAX_LIMIT_REACHED);
    expect(add('u1').status).toBe(PT.DUPLICATE);
    expect(add('admin').status).toBe(PT.DUPLICATE);
  });

  it('needs a TLS credential before TLS can be committed', async () => {
    const fw = firmware();
    fw.setAdminAclEntryEx('admin', digest('admin', 'N3w!passw'));
    fw.putTlsSettings(REMOTE_TLS_ID, { enabled: true });
    expect(fw.commitChanges().status).toBe(PT.DATA_MISSING);
    const key = await fw.generateKeyPair(0, 2048);
    expect(key.status).toBe(PT.SUCCESS);
    expect((await fw.generateKeyPair(0, 1024)).status).toBe(PT.INVALID_PARAMETER);
    expect((await fw.generateKeyPair(1, 2048)).status).toBe(PT.INVALID_PARAMETER);
  });

  it('validates Wi-Fi profiles as AddWiFiSettings does', () => {
    expect(
      firmware().addWifiSettings({
        elementName: 'a',
        ssid: 's',
        authenticationMethod: 6,
        encryptionMethod: 4,
        priority: 1,
        pskPassPhrase: '12345678',
      }).status,
    ).toBe(1);
    const fw = firmware({ wireless: true });
    const base = { elementName: 'a', ssid: 's', authenticationMethod: 6, encryptionMethod: 4, priority: 1 };
    expect(fw.addWifiSettings({ ...base, pskPassPhrase: 'short' }).status).toBe(3);
    expect(fw.addWifiSettings(base).status).toBe(3);
    expect(fw.addWifiSettings({ ...base, ssid: 'x'.repeat(33), pskPassPhrase: '12345678' }).status).toBe(3);
    expect(fw.addWifiSettings({ ...base, pskPassPhrase: '12345678' }).status).toBe(0);
    expect(fw.addWifiSettings({ ...base, elementName: 'b', pskPassPhrase: '12345678' }).status).toBe(
      PT.INVALID_PRIORITY,
    );
    expect(
      fw.addWifiSettings({
        ...base,
        elementName: 'c',
        priority: 2,
        authenticationMethod: 7,
        encryptionMethod: 4,
      }).status,
    ).toBe(3);
    expect(
      fw.addWifiSettings({
        ...base,
        elementName: 'c',
        priority: 2,
        pskPassPhrase: '12345678',
        clientCertificateId: 'nope',
      }).status,
    ).toBe(4);
  });

  it('sets the clock from Tm2 and refuses a Ta0 from its future', () => {
    const fw = firmware();
    const ta0 = fw.getLowAccuracyTimeSynch().value?.ta0 ?? 0;
    expect(fw.setHighAccuracyTimeSynch(ta0 + 3600, ta0, ta0).status).toBe(PT.INVALID_TIME);
    expect(fw.setHighAccuracyTimeSynch(ta0, ta0 + 100, ta0 + 100).status).toBe(PT.SUCCESS);
    expect(Math.abs(fw.timeMs() - (ta0 + 100) * 1000)).toBeLessThan(5000);
    expect(fw.setHighAccuracyTimeSynch(ta0, 10, 5).status).toBe(PT.INVALID_PARAMETER);
  });
});
