import { createPrivateKey } from 'node:crypto';
import { SoapClient } from '@oobkit/amt-soap';
import { encodePem, rsaSpkiFromPkcs1 } from '@oobkit/provisioning-cert';
import {
  amt,
  cim,
  IEEE8021X_ENABLED,
  ips,
  PROVISIONING_STATE,
  TLS_SETTINGS,
  WsmanClient,
} from '@oobkit/wsman';
import type { WifiProfileSetting, Wired8021xSetting } from '../store/types.js';
import type { AmtDevice, PowerSchemeInfo, Stage1Driver, Stage2Driver, UserAclEntryInput } from './device.js';
import type { DeviceConnection, FirmwareInfo } from './session.js';

const STATUS_NOT_PERMITTED = 16;

function returnValueOf(err: unknown): number | undefined {
  const rv = (err as { returnValue?: unknown })?.returnValue;
  return typeof rv === 'number' ? rv : undefined;
}

type GeneralSettings = Awaited<ReturnType<typeof amt.generalSettings.get>>;

/**
 * AMT_GeneralSettings for a read-modify-Put: the instance the login just read (once), else a
 * fresh Get. The login Gets it anyway, and nothing the flow does between a login and the next
 * change of these settings (clock, directory, ACLs) touches them: one round trip less each time.
 */
type GeneralSettingsSource = () => Promise<GeneralSettings>;

function createWsmanStage1(ws: WsmanClient, general: GeneralSettingsSource): Stage1Driver {
  return {
    protocol: 'wsman',
    async setClock(now) {
      const { Ta0 } = await amt.timeSynchronization.getLowAccuracyTimeSynch(ws);
      const t = Math.floor(now.getTime() / 1000);
      await amt.timeSynchronization.setHighAccuracyTimeSynch(ws, Ta0, t, t);
    },
    async setNetworkNames(hostName, domainName) {
      const g = await general();
      if (g.HostName === hostName && g.DomainName === domainName) return;
      await amt.generalSettings.put(ws, { ...g, HostName: hostName, DomainName: domainName });
    },
    async installTlsCertificate(issue) {
      // Idempotent: a TLS credential left by an earlier (uncommitted) run of this step is reused.
      const [existing] = await amt.tlsCredentialContext.enumerate(ws);
      let certificateId = existing?.ElementInContext?.selectors.InstanceID;
      if (!certificateId) {
        const keyPair = await amt.publicKeyManagement.generateKeyPair(ws, 2048);
        const keyId = keyPair.selectors.InstanceID;
        if (!keyId) throw new Error('GenerateKeyPair returned a reference without InstanceID');
        const pair = await amt.publicPrivateKeyPair.get(ws, { InstanceID: keyId });
        // DERKey is a PKCS#1 RSAPublicKey (checked here); the CA takes SPKI.
        const publicKeyPem = encodePem(
          rsaSpkiFromPkcs1(Buffer.from(pair.DERKey ?? '', 'base64')),
          'PUBLIC KEY',
        );
        const issued = await issue({ publicKeyPem });
        const cert = await amt.publicKeyManagement.addCertificate(
          ws,
          Buffer.from(issued.der).toString('base64'),
        );
        certificateId = cert.selectors.InstanceID;
        await amt.tlsCredentialContext.create(ws, cert);
      }
      const tls = await amt.tlsSettingData.getById(ws, TLS_SETTINGS.REMOTE);
      if (tls.Enabled !== true) await amt.tlsSettingData.putById(ws, { ...tls, Enabled: true });
      return { certificateId: certificateId ?? '', deviceGeneratedKey: true };
    },
    async setAdminPassword(username, digestPassword) {
      await amt.authorization.setAdminAclEntryEx(ws, username, digestPassword);
    },
    async setMebxPassword(password) {
      await amt.setupAndConfiguration.setMEBxPassword(ws, password);
    },
    async commit() {
      await amt.setupAndConfiguration.commitChanges(ws);
    },
  };
}

function createSoapStage1(soap: SoapClient): Stage1Driver {
  return {
    protocol: 'soap',
    async setClock(now) {
      await soap.networkTime.syncClock(() => now.getTime());
    },
    async setNetworkNames(hostName, domainName) {
      await soap.networkAdministration.setHostName(hostName);
      await soap.networkAdministration.setDomainName(domainName);
    },
    async installTlsCertificate(issue) {
      // The legacy interface has no call that returns a generated public key: the CA makes the key.
      const issued = await issue({});
      if (!issued.keyPem) throw new Error('the CA returned no private key for a legacy device');
      const keyDer = createPrivateKey(issued.keyPem).export({ type: 'pkcs8', format: 'der' });
      await soap.securityAdministration.setTlsKeyAndCertificate(keyDer, [issued.der]);
      await soap.securityAdministration.setTlsEnabled(true);
      return { certificateId: 'legacy', deviceGeneratedKey: false };
    },
    async setAdminPassword(username, digestPassword) {
      await soap.securityAdministration.setAdminAclEntryEx(username, digestPassword);
    },
    async setMebxPassword(password) {
      await soap.securityAdministration.setMEBxPassword(password);
    },
    async commit() {
      await soap.securityAdministration.commitChanges();
    },
  };
}

function createStage2(ws: WsmanClient, firmware: FirmwareInfo, general: GeneralSettingsSource): Stage2Driver {
  return {
    async replaceUserAcls(entries: UserAclEntryInput[]) {
      let removed = 0;
      for (const handle of await amt.authorization.listUserAclHandles(ws)) {
        try {
          await amt.authorization.removeUserAclEntry(ws, handle);
          removed++;
        } catch (err) {
          // `$$` system accounts cannot be removed; anything else is a real failure.
          if (returnValueOf(err) !== STATUS_NOT_PERMITTED) throw err;
        }
      }
      for (const e of entries) {
        await amt.authorization.addUserAclEntryEx(ws, {
          ...(e.username !== undefined ? { DigestUsername: e.username } : {}),
          ...(e.digestPassword !== undefined ? { DigestPassword: e.digestPassword } : {}),
          ...(e.kerberosSid !== undefined ? { KerberosUserSid: e.kerberosSid } : {}),
          AccessPermission: e.accessPermission,
          Realms: e.realms,
        });
      }
      return { removed, added: entries.length };
    },
    async setPing(enabled) {
      const g = await general();
      if (g.PingResponseEnabled === enabled) return;
      await amt.generalSettings.put(ws, { ...g, PingResponseEnabled: enabled });
    },
    async setWebUi(enabled) {
      await amt.webUI.setEnabled(ws, enabled);
    },
    async setRedirection(features) {
      await amt.redirection.setFeatures(ws, features);
      const r = await amt.redirection.get(ws);
      const listener = features.sol || features.ider;
      if (r.ListenerEnabled !== listener) await amt.redirection.put(ws, { ...r, ListenerEnabled: listener });
    },
    async setKerberos(k) {
      const { MasterKey: _writeOnly, ...cur } = await amt.kerberosSettingData.get(ws);
      await amt.kerberosSettingData.put(ws, {
        ...cur,
        RealmName: k.realm,
        ServicePrincipalName: k.servicePrincipalNames.slice(0, 4),
        KeyVersion: k.keyVersion,
        EncryptionAlgorithm: k.encryptionAlgorithm,
        MasterKey: Buffer.from(k.masterKey).toString('base64'),
        KrbEnabled: true,
      });
    },
    async listPowerSchemes(): Promise<PowerSchemeInfo[]> {
      const schemes = await amt.systemPowerScheme.enumerate(ws);
      const marked = await cim.elementSettingData.currentSettings(ws, amt.systemPowerScheme.resourceUri);
      const current = new Set<string>();
      for (const setting of marked) {
        const id = setting.selectors.InstanceID;
        if (id) current.add(id);
      }
      return schemes.map((s) => ({
        instanceId: s.InstanceID ?? '',
        description: s.Description ?? '',
        current: current.has(s.InstanceID ?? ''),
      }));
    },
    async setPowerScheme(instanceId) {
      await amt.systemPowerScheme.setPowerScheme(ws, instanceId);
    },
    async clearWireless() {
      // Certificates tied to (wireless or wired) 802.1X settings through CIM_CredentialContext,
      // collected before the profiles go: deleting a profile drops its contexts.
      const certIds = new Set<string>();
      for (const cc of await cim.credentialContext.enumerate(ws)) {
        const cert = cc.ElementInContext;
        const settings = cc.ElementProvidingContext;
        const id = cert?.selectors.InstanceID;
        if (
          id &&
          cert?.resourceUri === amt.publicKeyCertificate.resourceUri &&
          /IEEE8021xSettings$/i.test(settings?.resourceUri ?? '')
        ) {
          certIds.add(id);
        }
      }
      let profiles = 0;
      for (const p of await cim.wifiEndpointSettings.enumerate(ws)) {
        if (!p.InstanceID) continue;
        await cim.wifiEndpointSettings.deleteById(ws, p.InstanceID);
        profiles++;
      }
      for (const id of certIds) await amt.publicKeyCertificate.deleteById(ws, id);
      return { profiles, certificates: certIds.size };
    },
    async hasWireless() {
      return (await cim.wifiPort.enumerate(ws)).length > 0;
    },
    async addWifiProfile(p: WifiProfileSetting) {
      await amt.wifiPortConfiguration.addWiFiSettings(ws, {
        ElementName: p.name,
        InstanceID: `Intel(r) AMT:WiFi Endpoint Settings ${p.name}`,
        AuthenticationMethod: p.authenticationMethod,
        EncryptionMethod: p.encryptionMethod,
        SSID: p.ssid,
        Priority: p.priority,
        ...(p.pskPassphrase !== undefined ? { PSKPassPhrase: p.pskPassphrase } : {}),
      });
    },
    async setWired8021x(s: Wired8021xSetting) {
      const fields = {
        AuthenticationProtocol: s.authenticationProtocol,
        ...(s.serverCertificateName !== undefined ? { ServerCertificateName: s.serverCertificateName } : {}),
        ...(s.username !== undefined ? { Username: s.username } : {}),
        ...(s.password !== undefined ? { Password: s.password } : {}),
      };
      // AMT_8021XProfile on AMT 3–11, IPS_IEEE8021xSettings after.
      if (firmware.major !== undefined && firmware.major <= 11) {
        const {
          Password: _p,
          ClientCertificate: _c,
          ServerCertificateIssuer: _s,
          ...cur
        } = await amt.ieee8021xProfile.get(ws);
        await amt.ieee8021xProfile.put(ws, { ...cur, ...fields, Enabled: s.enabled });
      } else {
        const { Password: _p, ...cur } = await ips.ieee8021xSettings.get(ws);
        await ips.ieee8021xSettings.put(ws, {
          ...cur,
          ...fields,
          // The settings carry no client/CA certificates: "on without certificates".
          Enabled: s.enabled ? IEEE8021X_ENABLED.ON_WITHOUT_CERTIFICATES : IEEE8021X_ENABLED.OFF,
        });
      }
    },
  };
}

/** The flow's AmtDevice on @oobkit/wsman (and @oobkit/amt-soap for stage 1 on AMT ≤ 8). */
export function createAmtDevice(
  conn: DeviceConnection,
  info: { stage1: 'soap' | 'wsman'; firmware: FirmwareInfo },
): AmtDevice {
  const ws = new WsmanClient({ dispatcher: conn.dispatcher, origin: conn.origin });
  const soap =
    info.stage1 === 'soap' ? new SoapClient({ dispatcher: conn.dispatcher, origin: conn.origin }) : undefined;
  let realm: string | undefined;
  let lastRead: GeneralSettings | undefined;
  const general: GeneralSettingsSource = async () => {
    const g = lastRead;
    lastRead = undefined;
    return g ?? amt.generalSettings.get(ws);
  };
  return {
    async checkLogin() {
      if (soap) {
        // Flow A.4: a SOAP request, answered 401 first, then with digest.
        await soap.securityAdministration.getCoreVersion();
        return;
      }
      lastRead = await amt.generalSettings.get(ws);
      realm = lastRead.DigestRealm ?? realm;
    },
    async provisioningState() {
      const n = soap
        ? await soap.generalInfo.getProvisioningState()
        : (await amt.setupAndConfiguration.get(ws)).ProvisioningState;
      return n === PROVISIONING_STATE.POST ? 'post' : n === PROVISIONING_STATE.IN ? 'in' : 'pre';
    },
    async digestRealm() {
      realm ??= soap
        ? await soap.securityAdministration.getDigestRealm()
        : (await amt.generalSettings.get(ws)).DigestRealm;
      if (!realm) throw new Error('the device reported no digest realm');
      return realm;
    },
    async unprovision() {
      if (soap) await soap.securityAdministration.unprovision(1);
      else await amt.setupAndConfiguration.unprovision(ws, 1);
    },
    stage1: soap ? createSoapStage1(soap) : createWsmanStage1(ws, general),
    stage2: createStage2(ws, info.firmware, general),
  };
}
