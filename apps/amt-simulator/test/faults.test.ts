import { connect } from 'node:tls';
import { createVirtualClock } from '@oobkit/hello';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, device, nextEvent, setupDevice, soap, uri, wsman } from './helpers.js';

const GS = uri('AMT_GeneralSettings');

function provisioned(extra: Parameters<typeof device>[0] = {}) {
  return device({ provisioned: true, adminPassword: ADMIN_PASSWORD, ...extra });
}

describe('injected faults', () => {
  it('drop: closes the connection without an answer, once', async () => {
    const d = await provisioned();
    d.injectFault('AMT_GeneralSettings.Get', { kind: 'drop' });
    const c = wsman(d, { password: ADMIN_PASSWORD });
    await expect(c.get(GS)).rejects.toMatchObject({ code: 'WSMAN_TRANSPORT' });
    expect((await c.get(GS)).DigestRealm).toBe(d.realm);
    expect(d.events().filter((e) => e.type === 'fault')).toMatchObject([
      { step: 'AMT_GeneralSettings.Get', fault: 'drop' },
    ]);
  });

  it('delay: answers only once the device clock has moved on', async () => {
    const clock = createVirtualClock(Date.now());
    const d = await provisioned({ clock });
    d.injectFault('Get', { kind: 'delay', ms: 60_000 });
    const c = wsman(d, { password: ADMIN_PASSWORD });
    const order: string[] = [];
    const answer = c.get(GS).then((r) => {
      order.push('answer');
      return r;
    });
    await nextEvent(d, 'fault');
    order.push('fault');
    expect(clock.pending()).toBe(1);
    await clock.advance(59_999);
    expect(order).toEqual(['fault']);
    await clock.advance(1);
    expect((await answer).DigestRealm).toBe(d.realm);
    expect(order).toEqual(['fault', 'answer']);
  });

  it('soapFault: a WS-Man fault with the chosen subcode, or a SOAP 1.1 fault on legacy', async () => {
    const d = await provisioned();
    d.injectFault('wsman', { kind: 'soapFault', subcode: 'wsman:TimedOut', reason: 'simulated' });
    const err = await wsman(d, { password: ADMIN_PASSWORD })
      .get(GS)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WSMAN_FAULT', subcode: expect.stringMatching(/TimedOut$/) });

    const legacy = await provisioned({ personality: 'legacy' });
    legacy.injectFault('GetHostName', { kind: 'soapFault', subcode: 'Server', reason: 'busy' });
    const e2 = await soap(legacy, { password: ADMIN_PASSWORD })
      .networkAdministration.getHostName()
      .catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'SOAP_FAULT', faultString: 'busy' });
  });

  it('brokenXml: HTTP 200 with a body that does not parse', async () => {
    const d = await provisioned();
    d.injectFault('request', { kind: 'brokenXml' });
    await expect(wsman(d, { password: ADMIN_PASSWORD }).get(GS)).rejects.toMatchObject({
      code: 'WSMAN_PARSE',
    });
  });

  it('http500: a bare server error', async () => {
    const d = await provisioned();
    d.injectFault('AMT_GeneralSettings', { kind: 'http500' });
    await expect(wsman(d, { password: ADMIN_PASSWORD }).get(GS)).rejects.toMatchObject({
      code: 'WSMAN_HTTP',
      status: 500,
    });
  });

  it('reboot: drops the call but keeps every change, even uncommitted ones', async () => {
    const { device: d, pki } = await setupDevice();
    const c = wsman(d, { password: 'admin', tls: pki.chain });
    const gs = await c.get(GS);
    await c.put(GS, { ...gs, HostName: 'before-reboot' });
    d.injectFault('CommitChanges', { kind: 'reboot' });
    const power = nextEvent(d, 'power');
    await expect(c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges')).rejects.toMatchObject({
      code: 'WSMAN_TRANSPORT',
    });
    expect((await power).kind).toBe('reboot');
    expect(d.state()).toMatchObject({
      hostName: 'before-reboot',
      provisioningState: 'in',
      uncommittedChanges: true,
    });
  });

  it('powerLoss: uncommitted changes are lost; after the call, committed ones stay', async () => {
    const { device: d, pki } = await setupDevice({ adminPassword: ADMIN_PASSWORD });
    const c = wsman(d, { password: ADMIN_PASSWORD, tls: pki.chain });
    const gs = await c.get(GS);
    await c.put(GS, { ...gs, HostName: 'lost' });
    d.injectFault('CommitChanges', { kind: 'powerLoss' });
    await expect(c.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges')).rejects.toBeTruthy();
    expect(d.state()).toMatchObject({ hostName: '', provisioningState: 'pre', uncommittedChanges: false });

    const again = wsman(d, { password: ADMIN_PASSWORD, tls: pki.chain });
    await again.put(GS, { ...gs, HostName: 'kept' });
    d.injectFault('CommitChanges', { kind: 'powerLoss', after: true });
    await expect(again.invoke(uri('AMT_SetupAndConfigurationService'), 'CommitChanges')).rejects.toBeTruthy();
    expect(d.state()).toMatchObject({
      hostName: 'kept',
      provisioningState: 'post',
      uncommittedChanges: false,
    });
  });

  it('tls and http steps: refuse the connection itself; a plan arms faults at start, with a count', async () => {
    const d = await provisioned({ faults: { http: { kind: 'drop', times: 2 } } });
    const c = wsman(d, { password: ADMIN_PASSWORD });
    await expect(c.get(GS)).rejects.toMatchObject({ code: 'WSMAN_TRANSPORT' });
    await expect(c.get(GS)).rejects.toMatchObject({ code: 'WSMAN_TRANSPORT' });
    expect((await c.get(GS)).DigestRealm).toBe(d.realm);

    d.injectFault('tls', { kind: 'drop' });
    const closed = await new Promise<string>((resolve) => {
      const s = connect({ host: d.address, port: d.ports.tls, rejectUnauthorized: false });
      s.on('secureConnect', () => resolve('secure'));
      s.on('error', () => resolve('refused'));
    });
    expect(closed).toBe('refused');
  });

  it('clearFaults disarms everything', async () => {
    const d = await provisioned();
    d.injectFault('request', { kind: 'http500', times: Number.POSITIVE_INFINITY });
    d.clearFaults();
    expect((await wsman(d, { password: ADMIN_PASSWORD }).get(GS)).DigestRealm).toBe(d.realm);
  });
});
