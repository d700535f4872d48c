import { AMT_REALM_PATTERN, amtDigestPassword, parseWwwAuthenticate } from '@oobkit/http-digest';
import { WsmanFaultError } from '@oobkit/wsman';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, device, setupDevice, uri, wsman } from './helpers.js';

const IDENTIFY =
  '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>';
const GET = (to: string) =>
  `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action><a:To>${to}</a:To><w:ResourceURI>${uri('AMT_GeneralSettings')}</w:ResourceURI><a:MessageID>uuid:1</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo></s:Header><s:Body/></s:Envelope>`;

/** The digest interceptor's refusal, as the WS-Man client wraps it. */
async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; cause?: { code?: string } },
  );
  return err?.cause?.code ?? err?.code;
}

describe('digest authentication', () => {
  it('challenges like AMT: realm shape, qop auth, Connection: close, Server header', async () => {
    const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD, firmwareVersion: '11.8.50' });
    const res = await request(`http://${d.address}:${d.ports.http}/wsman`, {
      method: 'POST',
      body: GET('/wsman'),
    });
    await res.body.text();
    expect(res.statusCode).toBe(401);
    expect(res.headers.connection).toBe('close');
    expect(res.headers.server).toBe('Intel(R) Active Management Technology 11.8.50.3425');
    const [challenge] = parseWwwAuthenticate(String(res.headers['www-authenticate']));
    expect(challenge?.realm).toBe(d.realm);
    expect(d.realm).toMatch(AMT_REALM_PATTERN);
    expect(challenge?.qop).toEqual(['auth']);
    expect(challenge?.algorithm).toBeUndefined();
  });

  it('answers WS-Identify without credentials and every answer carries the Server header', async () => {
    const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD });
    const res = await request(`http://${d.address}:${d.ports.http}/wsman`, {
      method: 'POST',
      body: IDENTIFY,
    });
    const body = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers.server).toBe('Intel(R) Active Management Technology 16.1.25.3425');
    expect(body).toContain('Intel Corporation');
    expect(body).toContain('AMT 16.1');
  });

  it('refuses a wrong password and an unknown user, and records why', async () => {
    const d = await device({ provisioned: true, adminPassword: ADMIN_PASSWORD });
    expect(await refusal(wsman(d, { password: 'Wr0ng!Password' }).get(uri('AMT_GeneralSettings')))).toBe(
      'DIGEST_WRONG_CREDENTIALS',
    );
    expect(
      await refusal(
        wsman(d, { username: 'nobody', password: ADMIN_PASSWORD }).get(uri('AMT_GeneralSettings')),
      ),
    ).toBe('DIGEST_WRONG_CREDENTIALS');
    const refusals = d.events().filter((e) => e.type === 'auth' && !e.ok);
    expect(refusals.map((e) => (e.type === 'auth' ? e.reason : ''))).toEqual([
      'wrong-response',
      'unknown-user',
    ]);
    expect(d.events().some((e) => e.type === 'request')).toBe(false);
  });

  it('logs in with the MEBx password before provisioning and with the admin password after', async () => {
    const { device: d, pki } = await setupDevice({ mebxPassword: 'Tech!Passw0rd1' });
    expect(
      await refusal(wsman(d, { password: 'admin', tls: pki.chain }).get(uri('AMT_GeneralSettings'))),
    ).toBe('DIGEST_WRONG_CREDENTIALS');
    const c = wsman(d, { password: 'Tech!Passw0rd1', tls: pki.chain });
    await c.invoke(uri('AMT_AuthorizationService'), 'SetAdminAclEntryEx', {
      Username: 'admin',
      DigestPassword: amtDigestPassword('admin', d.realm, ADMIN_PASSWORD).base64,
    });
    // Uncommitted: the MEBx password still logs in.
    expect((await c.get(uri('AMT_GeneralSettings'))).DigestRealm).toBe(d.realm);
    await c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges');
    expect(
      await refusal(wsman(d, { password: 'Tech!Passw0rd1', tls: true }).get(uri('AMT_GeneralSettings'))),
    ).toBe('DIGEST_WRONG_CREDENTIALS');
    expect((await wsman(d, { password: ADMIN_PASSWORD }).get(uri('AMT_GeneralSettings'))).DigestRealm).toBe(
      d.realm,
    );
  });

  it('lets a digest user read but not change settings', async () => {
    const d = await device({
      provisioned: true,
      adminPassword: ADMIN_PASSWORD,
      seed: { userAcls: [{ username: 'reader', password: 'Read3r!pw', realms: [3, 13] }] },
    });
    const reader = wsman(d, { username: 'reader', password: 'Read3r!pw' });
    const gs = await reader.get(uri('AMT_GeneralSettings'));
    expect(gs.HostName).toBe('');
    const err = await reader
      .put(uri('AMT_GeneralSettings'), { ...gs, HostName: 'nope' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WsmanFaultError);
    expect((err as WsmanFaultError).subcode).toMatch(/AccessDenied$/);
    expect(d.state().hostName).toBe('');
  });
});
