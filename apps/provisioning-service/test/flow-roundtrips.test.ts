/**
 * The round-trip budget of a provisioning, in TLS handshakes (AMT answers every 401 with
 * `Connection: close`, and a handshake costs the ME far more than a request): the probe's
 * connection, one setup session, and one connection after CommitChanges. A wrong credential
 * costs exactly one more (its refused answer), never a bare try on top. And no read the flow
 * already has is repeated.
 */
import { generateAmtPassword } from '@oobkit/http-digest';
import { describe, expect, it } from 'vitest';
import { newTransportStats } from '../src/flow/session.js';
import { createSite } from './flow-harness.js';

describe('round trips per provisioning', () => {
  it('a factory-fresh AMT 16: 3 handshakes, no refused login, every setup handshake accepted', async () => {
    const stats = newTransportStats();
    const site = await createSite({ stats });
    try {
      const device = await site.device({ personality: 'modern', wireless: true });
      const done = await site.provision(device);
      expect(done.outcome).toBe('succeeded');
      expect(stats.handshakes).toBe(3);
      const events = device.events();
      expect(events.filter((e) => e.type === 'tls').map((e) => (e as { ok: boolean }).ok)).toEqual([
        true,
        true,
        true,
      ]);
      expect(events.filter((e) => e.type === 'auth' && !e.ok)).toEqual([]);
      // AMT_GeneralSettings is read by the two logins (before and after the commit) only: the
      // host-name and ping changes reuse what the login just read.
      const calls = events.flatMap((e) => (e.type === 'request' ? [e.name] : []));
      expect(calls.filter((n) => n === 'AMT_GeneralSettings.Get')).toHaveLength(2);
      // (host and domain names always change; ping only when the factory value differs)
      expect(calls.filter((n) => n === 'AMT_GeneralSettings.Put').length).toBeGreaterThanOrEqual(1);
    } finally {
      await site.close();
    }
  });

  it('one wrong credential first: one refused answer and one handshake more, nothing else', async () => {
    const siteMebx = generateAmtPassword();
    const stats = newTransportStats();
    const site = await createSite({
      stats,
      credentials: [
        { label: 'factory default', username: 'admin', password: 'admin', priority: 1 },
        { label: 'site MEBx', username: 'admin', password: siteMebx, priority: 2 },
      ],
    });
    try {
      const device = await site.device({ personality: 'modern', mebxPassword: siteMebx });
      const done = await site.provision(device);
      expect(done.outcome).toBe('succeeded');
      expect(stats.handshakes).toBe(4);
      const refused = device.events().filter((e) => e.type === 'auth' && !e.ok);
      expect(refused).toHaveLength(1);
    } finally {
      await site.close();
    }
  });
});
