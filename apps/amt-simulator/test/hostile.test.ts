import { WsmanFaultError } from '@oobkit/wsman';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, device, uri, wsman } from './helpers.js';

// Names a peer chooses (method names, selector names) must never resolve to what every
// JavaScript object inherits (`constructor`, `toString`…).
describe('hostile names from a WS-Man peer', () => {
  it('answers ActionNotSupported for a method named like an inherited property', async () => {
    const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD });
    const c = wsman(d, { password: ADMIN_PASSWORD });
    for (const method of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const err = await c
        .invoke(uri('AMT_SetupAndConfigurationService'), method, {})
        .catch((e: unknown) => e);
      expect(err, method).toBeInstanceOf(WsmanFaultError);
      expect((err as WsmanFaultError).subcode).toMatch(/ActionNotSupported/);
    }
  });

  it('matches no instance with a selector named `constructor`', async () => {
    const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD });
    const c = wsman(d, { password: ADMIN_PASSWORD });
    const err = await c
      .get(uri('AMT_GeneralSettings'), { selectors: { constructor: String(Object) } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WsmanFaultError);
    expect((err as WsmanFaultError).subcode).toMatch(/InvalidSelectors/);
  });
});
