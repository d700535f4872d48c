import { amtDigestPassword } from '@oobkit/http-digest';
import { invalidOption } from './errors.js';
import type { Firmware } from './firmware.js';
import type { Ieee8021xSettings, KerberosSettings } from './state.js';
import { PT } from './status.js';

/** A certificate already in the firmware; `name` lets Wi-Fi and 802.1X seeds refer to it. */
export interface SeedCertificate {
  name: string;
  /** DER bytes or base64. */
  der: Uint8Array | string;
  trustedRoot?: boolean;
  readOnly?: boolean;
}

export interface SeedWifiProfile {
  elementName: string;
  ssid: string;
  priority: number;
  /** Default 6 (WPA2 PSK). */
  authenticationMethod?: number;
  /** Default 4 (CCMP). */
  encryptionMethod?: number;
  passphrase?: string;
  /** An OS-synced user profile. */
  user?: boolean;
  ieee8021x?: Omit<Ieee8021xSettings, 'clientCertificateId' | 'caCertificateId'>;
  clientCertificate?: string;
  caCertificate?: string;
}

/**
 * What an earlier provisioning left behind, for re-provisioning tests: the device starts with
 * it committed (`provisioned: false` keeps it in pre-provisioning all the same).
 */
export interface DeviceSeed {
  hostName?: string;
  domainName?: string;
  userAcls?: Array<
    | { username: string; password: string; accessPermission?: number; realms?: number[] }
    | { kerberosSid: string; accessPermission?: number; realms?: number[] }
  >;
  /** Add the `$$OsAdmin` system account, which RemoveUserAclEntry must refuse. */
  systemAccount?: boolean;
  certificates?: SeedCertificate[];
  wifiProfiles?: SeedWifiProfile[];
  wired8021x?: {
    enabled: boolean;
    clientCertificate?: string;
    serverCertificateIssuer?: string;
    username?: string;
  };
  kerberos?: Partial<Omit<KerberosSettings, 'supportedEncryptionAlgorithms'>>;
  powerSchemeId?: string;
  webUi?: boolean;
  sol?: boolean;
  ider?: boolean;
  pingIcmp?: boolean;
}

function must(what: string, status: number): void {
  if (status !== PT.SUCCESS)
    throw invalidOption(`seed.${what}`, `refused by the firmware (status ${status})`);
}

export function applySeed(fw: Firmware, seed: DeviceSeed): void {
  const realm = fw.facts.realm;
  if (seed.hostName !== undefined || seed.domainName !== undefined) {
    must(
      'hostName',
      fw.putGeneralSettings({
        ...(seed.hostName === undefined ? {} : { hostName: seed.hostName }),
        ...(seed.domainName === undefined ? {} : { domainName: seed.domainName }),
      }).status,
    );
  }
  if (seed.systemAccount) {
    fw.mem.change((d) => {
      d.userAcls.push({
        handle: d.nextHandle++,
        username: '$$OsAdmin',
        accessPermission: 0,
        realms: [24],
        system: true,
      });
    });
  }
  for (const u of seed.userAcls ?? []) {
    const common = { accessPermission: u.accessPermission ?? 2, realms: u.realms ?? [3] };
    const r =
      'username' in u
        ? fw.addUserAclEntryEx({
            ...common,
            username: u.username,
            digestPasswordB64: amtDigestPassword(u.username, realm, u.password).base64,
          })
        : fw.addUserAclEntryEx({ ...common, kerberosSid: u.kerberosSid });
    must('userAcls', r.status);
  }
  const certIds = new Map<string, string>();
  for (const c of seed.certificates ?? []) {
    const b64 = typeof c.der === 'string' ? c.der : Buffer.from(c.der).toString('base64');
    const r = c.trustedRoot ? fw.addTrustedRootCertificate(b64) : fw.addCertificate(b64);
    must('certificates', r.status);
    const id = r.value?.certId ?? '';
    certIds.set(c.name, id);
    if (c.readOnly) {
      fw.mem.change((d) => {
        const entry = d.certificates.find((x) => x.instanceId === id);
        if (entry) entry.readOnly = true;
      });
    }
  }
  const ref = (name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    const id = certIds.get(name);
    if (!id) throw invalidOption('seed', `no seeded certificate named "${name}"`);
    return id;
  };
  for (const w of seed.wifiProfiles ?? []) {
    const client = ref(w.clientCertificate);
    const ca = ref(w.caCertificate);
    const r = fw.addWifiSettings({
      elementName: w.elementName,
      ssid: w.ssid,
      priority: w.priority,
      authenticationMethod: w.authenticationMethod ?? 6,
      encryptionMethod: w.encryptionMethod ?? 4,
      ...(w.passphrase === undefined ? {} : { pskPassPhrase: w.passphrase }),
      ...(w.ieee8021x === undefined ? {} : { ieee8021x: w.ieee8021x }),
      ...(client === undefined ? {} : { clientCertificateId: client }),
      ...(ca === undefined ? {} : { caCertificateId: ca }),
    });
    must('wifiProfiles', r.status);
    if (w.user) {
      fw.mem.change((d) => {
        const p = d.wifiProfiles.find((x) => x.elementName === w.elementName);
        if (p) {
          p.user = true;
          p.instanceId = `Intel(r) AMT:WiFi Endpoint User Settings ${w.elementName}`;
        }
      });
    }
  }
  if (seed.wired8021x) {
    const client = ref(seed.wired8021x.clientCertificate);
    const issuer = ref(seed.wired8021x.serverCertificateIssuer);
    must(
      'wired8021x',
      fw.putWired8021x({
        enabled: seed.wired8021x.enabled,
        ...(seed.wired8021x.username === undefined ? {} : { username: seed.wired8021x.username }),
        ...(client === undefined ? {} : { clientCertificateId: client }),
        ...(issuer === undefined ? {} : { serverCertificateIssuerId: issuer }),
      }).status,
    );
  }
  if (seed.kerberos) must('kerberos', fw.putKerberos(seed.kerberos).status);
  if (seed.powerSchemeId !== undefined) must('powerSchemeId', fw.setPowerScheme(seed.powerSchemeId).status);
  if (seed.webUi !== undefined) must('webUi', fw.setWebUi(seed.webUi ? 2 : 3).status);
  if (seed.sol !== undefined || seed.ider !== undefined) {
    must('sol', fw.setRedirection(32768 + (seed.ider ? 1 : 0) + (seed.sol ? 2 : 0)).status);
  }
  if (seed.pingIcmp !== undefined)
    must('pingIcmp', fw.putGeneralSettings({ pingIcmp: seed.pingIcmp }).status);
}
