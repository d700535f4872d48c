import { buildGetRequest, resourceUriFor } from '@oobkit/wsman';
import { describe, expect, it } from 'vitest';
import type { Firmware } from './firmware.js';
import { profileFor } from './personality.js';
import type { CallContext } from './protocol.js';
import { SPEC_REALM, SPEC_UUID, specFirmware } from './spec-firmware.js';
import { parseWsman } from './wsman.js';

const REALM = SPEC_REALM;
const UUID = SPEC_UUID;
const firmware = () => specFirmware();
const profile = profileFor('modern');

/** The instance's properties in the order the Get response writes them. */
async function getProperties(fw: Firmware, className: string): Promise<Array<[string, string]>> {
  const parsed = parseWsman(Buffer.from(buildGetRequest(resourceUriFor(className)).xml));
  if (!parsed.ok) throw new Error('request did not parse');
  const ctx: CallContext = {
    fw,
    profile,
    uuid: UUID,
    address: '127.16.0.1',
    username: 'admin',
    afterResponse: () => undefined,
    onProvisioned: () => undefined,
    onUnprovisioned: () => undefined,
    strongPassword: () => true,
  };
  const reply = await parsed.call.run(ctx);
  expect(reply.status).toBe(200);
  const instance = new RegExp(`<(\\w+):${className} [^>]*>(.*)</\\1:${className}>`).exec(reply.body);
  if (!instance) throw new Error(`no ${className} element in ${reply.body}`);
  return [...(instance[2] ?? '').matchAll(/<\w+:(\w+)>([^<]*)<\/\w+:\1>/g)].map((m) => [
    m[1] ?? '',
    m[2] ?? '',
  ]);
}

describe('WS-Man instance properties', () => {
  it('writes a service keys first, then its common properties, with class values overriding in place', async () => {
    const fw = firmware();
    expect(await getProperties(fw, 'AMT_RedirectionService')).toEqual([
      ['CreationClassName', 'AMT_RedirectionService'],
      ['Name', 'Intel(r) AMT Redirection Service'],
      ['SystemCreationClassName', 'CIM_ComputerSystem'],
      ['SystemName', 'Intel(r) AMT'],
      ['ElementName', 'Intel(r) AMT Redirection Service'],
      // The redirection service's own EnabledState replaces the common 5 at the same place.
      ['EnabledState', '32768'],
      ['RequestedState', '12'],
      ['ListenerEnabled', 'false'],
    ]);
  });

  it('writes a singleton keys first and the wired 802.1X view after its own properties', async () => {
    const fw = firmware();
    expect((await getProperties(fw, 'IPS_IEEE8021xSettings')).map(([name]) => name)).toEqual([
      'InstanceID',
      'ElementName',
      'Enabled',
      'AvailableInS0',
      'AuthenticationProtocol',
      'ServerCertificateName',
      'ServerCertificateNameComparison',
      'Username',
      'Domain',
      'PxeTimeout',
    ]);
    const general = await getProperties(fw, 'AMT_GeneralSettings');
    expect(general.slice(0, 3)).toEqual([
      ['InstanceID', 'Intel(r) AMT: General Settings'],
      ['ElementName', 'Intel(r) AMT: General Settings'],
      ['NetworkInterfaceEnabled', 'true'],
    ]);
    expect(general.find(([name]) => name === 'DigestRealm')).toEqual(['DigestRealm', REALM]);
  });
});
