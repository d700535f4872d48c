/** Specs only: a factory-state firmware model with one pooled RSA key. */
import { generateKeyPairSync } from 'node:crypto';
import { Firmware } from './firmware.js';
import { keyMaterialFrom, poolFromKeys } from './keypool.js';
import { profileFor } from './personality.js';

export const SPEC_REALM = 'Digest:0123456789ABCDEF0123456789ABCDEF';
export const SPEC_UUID = '00000000-0000-4000-8000-000000000000';

let pool: ReturnType<typeof poolFromKeys> | undefined;

export function specFirmware(opts: { wireless?: boolean; personality?: 'legacy' | 'modern' } = {}): Firmware {
  pool ??= poolFromKeys([keyMaterialFrom(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)]);
  const keys = pool;
  return new Firmware(
    {
      uuid: SPEC_UUID,
      profile: profileFor(opts.personality ?? 'modern'),
      realm: SPEC_REALM,
      dnsSuffix: 'example.test',
      platform: 'desktop',
      wireless: opts.wireless ?? false,
      pid: 'ABCD1234',
      macAddress: '02-00-00-00-00-01',
      wifiMacAddress: '02-00-00-00-00-02',
    },
    {
      realm: SPEC_REALM,
      mebxPassword: 'admin',
      mebxChanged: false,
      customHashes: [],
      platform: 'desktop',
      kerberosAes: true,
    },
    async () => keys,
  );
}
