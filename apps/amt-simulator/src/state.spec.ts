import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FirmwareMemory, factoryData, POWER_SCHEMES } from './state.js';

function memory() {
  return new FirmwareMemory(
    factoryData({
      realm: 'Digest:00000000000000000000000000000000',
      mebxPassword: 'admin',
      mebxChanged: false,
      customHashes: [],
      platform: 'desktop',
      kerberosAes: true,
    }),
  );
}

describe('FirmwareMemory', () => {
  it('keeps setup changes pending until commit, and drops them on power loss', () => {
    const m = memory();
    m.change((d) => {
      d.hostName = 'a';
    });
    expect(m.current.hostName).toBe('a');
    expect(m.committed.hostName).toBe('');
    expect(m.hasUncommitted).toBe(true);
    m.powerLoss();
    expect(m.current.hostName).toBe('');
    m.change((d) => {
      d.hostName = 'b';
      d.provisioningState = 2;
    });
    m.commit();
    expect(m.committed.hostName).toBe('b');
    expect(m.hasUncommitted).toBe(false);
  });

  it('applies changes at once after provisioning, except deferred (TLS) ones', () => {
    const m = memory();
    m.change((d) => {
      d.provisioningState = 2;
    });
    m.commit();
    m.change((d) => {
      d.webUi = true;
    });
    expect(m.committed.webUi).toBe(true);
    expect(m.hasUncommitted).toBe(false);
    m.change((d) => {
      d.tlsRemote.enabled = true;
    }, true);
    m.change((d) => {
      d.sol = true;
    });
    expect(m.committed.tlsRemote.enabled).toBe(false);
    expect(m.current.tlsRemote.enabled).toBe(true);
    expect(m.current.sol && m.committed.sol).toBe(true);
    m.powerLoss();
    expect(m.current.tlsRemote.enabled).toBe(false);
    expect(m.current.webUi).toBe(true);
  });

  it('starts from factory data: MEBx HA1, first power scheme, nothing set', () => {
    const d = memory().committed;
    // HA1 = MD5(user:realm:password), computed here independently of the code under test.
    const realm = 'Digest:00000000000000000000000000000000';
    expect(d.mebxHa1).toBe(createHash('md5').update(`admin:${realm}:admin`).digest('hex'));
    expect(d.powerSchemeId).toBe(POWER_SCHEMES.desktop[0]?.instanceId);
    expect(d.adminAcl).toBeUndefined();
    expect(d.provisioningState).toBe(0);
  });
});
