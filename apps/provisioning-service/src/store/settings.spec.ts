import { describe, expect, it } from 'vitest';
import {
  defaultSettings,
  isStrongAmtPassword,
  joinSettings,
  REDACTED,
  redactSettings,
  restoreRedacted,
  splitSettings,
  validateSettings,
} from './settings.js';
import type { ProvisioningSettings } from './types.js';

const full: ProvisioningSettings = {
  ...defaultSettings('Mebx!Pass1'),
  userAcls: [
    { username: 'helpdesk', password: 'Help!Desk9', accessPermission: 2, realms: [3, 5] },
    { kerberosSid: 'AQUAAAAAAAUVAAAA', accessPermission: 1, realms: [3] },
  ],
  wifiProfiles: [
    {
      name: 'office',
      ssid: 'Office',
      priority: 1,
      authenticationMethod: 6,
      encryptionMethod: 4,
      pskPassphrase: 'office-psk-1',
    },
    { name: 'corp', ssid: 'Corp', priority: 2, authenticationMethod: 7, encryptionMethod: 4 },
  ],
  wired8021x: { enabled: true, authenticationProtocol: 2, username: 'amt', password: 'dot1x-pass' },
};

describe('settings secrets', () => {
  it('split keeps every secret out of the document, join puts them back', () => {
    const { doc, secrets } = splitSettings(full);
    const text = JSON.stringify(doc);
    for (const s of ['Mebx!Pass1', 'Help!Desk9', 'office-psk-1', 'dot1x-pass']) expect(text).not.toContain(s);
    expect(secrets).toEqual({
      mebxPassword: 'Mebx!Pass1',
      userAclPasswords: ['Help!Desk9', null],
      wifiPskPassphrases: ['office-psk-1', null],
      wired8021xPassword: 'dot1x-pass',
    });
    expect(joinSettings(JSON.parse(text), secrets)).toEqual(full);
  });

  it('redact then restore gives back the stored secrets, matched by user and profile name', () => {
    const shown = redactSettings(full);
    expect(JSON.stringify(shown)).not.toMatch(/Mebx!Pass1|Help!Desk9|office-psk-1|dot1x-pass/);
    expect(shown.userAcls[1]).toEqual(full.userAcls[1]); // nothing to hide there
    const reordered = {
      ...shown,
      userAcls: [...shown.userAcls].reverse(),
      wifiProfiles: [...shown.wifiProfiles].reverse(),
    };
    const restored = validateSettings(restoreRedacted(reordered, full));
    expect(restored.userAcls.find((a) => a.username === 'helpdesk')?.password).toBe('Help!Desk9');
    expect(restored.wifiProfiles.find((w) => w.name === 'office')?.pskPassphrase).toBe('office-psk-1');
    expect(restored.mebxPassword).toBe('Mebx!Pass1');
    expect(restored.wired8021x?.password).toBe('dot1x-pass');
    expect(() =>
      restoreRedacted({ ...shown, wifiProfiles: [{ ...shown.wifiProfiles[0], name: 'renamed' }] }, full),
    ).toThrow(
      expect.objectContaining({ code: 'STORE_INVALID_INPUT', field: 'wifiProfiles[0].pskPassphrase' }),
    );
    expect(REDACTED.length).toBeLessThan(8); // can never be a valid password, so never mistaken for one
  });

  it('validation refuses unknown fields and names the bad one', () => {
    expect(() => validateSettings({ ...full, junk: 1 })).toThrow(
      expect.objectContaining({ code: 'STORE_INVALID_INPUT', field: 'junk' }),
    );
    expect(() => validateSettings({ ...full, features: { ...full.features, SOL: true } })).toThrow(
      expect.objectContaining({
        field: 'features.SOL',
        message: expect.stringContaining('known here: ping'),
      }),
    );
    expect(() =>
      validateSettings({ ...full, wifiProfiles: [{ ...full.wifiProfiles[0], psk: 'x' }] }),
    ).toThrow(expect.objectContaining({ field: 'wifiProfiles[0].psk' }));
    expect(() => validateSettings({ ...full, kerberos: { enabled: true, realm: 'X' } })).toThrow(
      expect.objectContaining({ field: 'kerberos.realm' }),
    );
    // Only the scheme numbers the flow can find on a device.
    for (const powerScheme of [0, 6, 255, '5']) {
      expect(() => validateSettings({ ...full, powerScheme }), String(powerScheme)).toThrow(
        expect.objectContaining({
          field: 'powerScheme',
          message: 'powerScheme must be one of 1, 2, 3, 4, 5',
        }),
      );
    }
    expect(validateSettings(full)).toEqual(full);
    expect(() =>
      validateSettings({ ...full, userAcls: [{ username: 'x', accessPermission: 2, realms: [3] }] }),
    ).toThrow(expect.objectContaining({ field: 'userAcls[0].password' }));
    expect(() =>
      validateSettings({
        ...full,
        wifiProfiles: [full.wifiProfiles[0], { ...full.wifiProfiles[1], priority: 1 }],
      }),
    ).toThrow(expect.objectContaining({ field: 'wifiProfiles[1]' }));
  });

  it('applies the AMT password policy', () => {
    expect(isStrongAmtPassword('Abcdef1!')).toBe(true);
    for (const weak of [
      'Abcdef1',
      'abcdef1!',
      'ABCDEF1!',
      'Abcdefg!',
      'Abc:def1!',
      'Abc_def1',
      'Abc"def1!',
      `A1!${'a'.repeat(30)}`,
    ]) {
      expect(isStrongAmtPassword(weak), weak).toBe(false);
    }
  });
});
