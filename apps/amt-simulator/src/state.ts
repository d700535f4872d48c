import { createHash } from 'node:crypto';
import { amtDigestPassword } from '@oobkit/http-digest';

/** AMT_SetupAndConfigurationService.ProvisioningState: 0 pre, 1 in, 2 post. */
export type ProvisioningState = 'pre' | 'in' | 'post';
/** ProvisioningMode: 1 admin control (PKI), 4 client control; 0 = not provisioned. */
export type ProvisioningMode = 0 | 1 | 4;

export interface AclEntry {
  handle: number;
  /** Digest user; absent for a Kerberos (AD SID) entry. */
  username?: string;
  /** MD5(user:realm:password), lower-case hex. */
  ha1?: string;
  /** Binary Windows SID, base64. */
  kerberosSid?: string;
  /** 0 local, 1 network, 2 both. */
  accessPermission: number;
  realms: number[];
  /** `$$`-prefixed system accounts cannot be removed. */
  system?: boolean;
}

export interface KeyEntry {
  instanceId: string;
  bits: number;
  /** PKCS#1 RSAPublicKey DER, base64 (what AMT_PublicPrivateKeyPair.DERKey carries). */
  derKey: string;
}

export interface CertificateEntry {
  instanceId: string;
  /** DER, base64. */
  der: string;
  subject: string;
  issuer: string;
  trustedRoot: boolean;
  readOnly: boolean;
  /** The key pair this certificate is for, if the device holds it. */
  keyInstanceId?: string;
}

export interface TlsSettings {
  enabled: boolean;
  mutualAuthentication: boolean;
  acceptNonSecureConnections: boolean;
  trustedCn: string[];
}

export interface KerberosSettings {
  realmName: string;
  servicePrincipalNames: string[];
  servicePrincipalProtocols: number[];
  keyVersion: number;
  encryptionAlgorithm: number;
  /** 16-byte key, base64; write-only over the wire, readable here for tests. */
  masterKey?: string;
  maximumClockTolerance: number;
  krbEnabled: boolean;
  credentialCacheEnabled: boolean;
  supportedEncryptionAlgorithms: number[];
  configuredEncryptionAlgorithms: number[];
  passphrase?: string;
  salt?: string;
  iterationCount?: number;
}

export interface Ieee8021xSettings {
  elementName: string;
  authenticationProtocol: number;
  roamingIdentity?: string;
  serverCertificateName?: string;
  serverCertificateNameComparison?: number;
  username?: string;
  password?: string;
  domain?: string;
  protectedAccessCredential?: string;
  pacPassword?: string;
  clientCertificateId?: string;
  caCertificateId?: string;
}

export interface WifiProfile {
  instanceId: string;
  elementName: string;
  ssid: string;
  authenticationMethod: number;
  encryptionMethod: number;
  priority: number;
  pskPassPhrase?: string;
  /** An OS-synced user profile rather than an IT profile. */
  user: boolean;
  ieee8021x?: Ieee8021xSettings;
}

export interface Wired8021x {
  enabled: boolean;
  activeInS0: boolean;
  authenticationProtocol: number;
  serverCertificateName: string;
  serverCertificateNameComparison: number;
  username: string;
  password?: string;
  domain: string;
  pxeTimeout: number;
  /** IPS_IEEE8021xSettings.Enabled: 2 on, 3 off, 6 on without certificates. */
  ipsEnabled: number;
  clientCertificateId?: string;
  serverCertificateIssuerId?: string;
}

/** Everything the firmware keeps; plain data so a layer can be cloned. */
export interface FirmwareData {
  provisioningState: 0 | 1 | 2;
  provisioningMode: ProvisioningMode;
  mebxHa1: string;
  mebxChanged: boolean;
  adminAcl?: { username: string; ha1: string };
  userAcls: AclEntry[];
  nextHandle: number;
  customHashes: Array<{ algorithm: 'sha1' | 'sha256' | 'sha384'; hash: string }>;
  clockOffsetMs: number;
  clockSet: boolean;
  hostName: string;
  domainName: string;
  sharedFqdn: boolean;
  pingIcmp: boolean;
  pingRmcp: boolean;
  webUi: boolean;
  redirectionListener: boolean;
  sol: boolean;
  ider: boolean;
  kerberos: KerberosSettings;
  keys: KeyEntry[];
  certificates: CertificateEntry[];
  tlsCredentialCertId?: string;
  tlsRemote: TlsSettings;
  tlsLocal: TlsSettings;
  powerSchemeId: string;
  wifiPortState: number;
  wifiLocalSync: number;
  wifiProfiles: WifiProfile[];
  wired8021x: Wired8021x;
  otp?: string;
  pid?: string;
}

export interface PowerScheme {
  instanceId: string;
  schemeGuid: string;
  description: string;
}

function scheme(n: number, description: string): PowerScheme {
  const guid = createHash('md5').update(description).digest('base64');
  return { instanceId: `Intel(r) AMT Power Scheme ${n}`, schemeGuid: guid, description };
}

/**
 * The schemes a platform offers (descriptions after Intel's; InstanceIDs and GUIDs are ours).
 * The last one of each keeps AMT on in S0–S5 on AC power — ConfigMgr's "power scheme 5".
 */
export const POWER_SCHEMES: Record<'desktop' | 'mobile', readonly PowerScheme[]> = {
  desktop: [
    scheme(1, 'Desktop: ON in S0'),
    scheme(2, 'Desktop: ON in S0, ME Wake in S3, S4-5'),
    scheme(3, 'Desktop: ON in S0, S3, S4-5'),
  ],
  mobile: [
    scheme(1, 'Mobile: ON in S0'),
    scheme(2, 'Mobile: ON in S0, ME Wake in S3, S4-5 (AC only)'),
    scheme(3, 'Mobile: ON in S0, S3/AC'),
    scheme(4, 'Mobile: ON in S0, S3/AC, S4-5/AC'),
  ],
};

export const REMOTE_TLS_ID = 'Intel(r) AMT 802.3 TLS Settings';
export const LOCAL_TLS_ID = 'Intel(r) AMT LMS TLS Settings';

function tlsOff(): TlsSettings {
  return { enabled: false, mutualAuthentication: false, acceptNonSecureConnections: false, trustedCn: [] };
}

export function defaultKerberos(aes: boolean): KerberosSettings {
  return {
    realmName: '',
    servicePrincipalNames: [],
    servicePrincipalProtocols: [],
    keyVersion: 0,
    encryptionAlgorithm: 0,
    maximumClockTolerance: 5,
    krbEnabled: false,
    credentialCacheEnabled: false,
    supportedEncryptionAlgorithms: aes ? [0, 1, 2] : [0],
    configuredEncryptionAlgorithms: [0],
  };
}

export function defaultWired8021x(): Wired8021x {
  return {
    enabled: false,
    activeInS0: true,
    authenticationProtocol: 0,
    serverCertificateName: '',
    serverCertificateNameComparison: 0,
    username: '',
    domain: '',
    pxeTimeout: 0,
    ipsEnabled: 3,
  };
}

export interface FactoryFacts {
  realm: string;
  mebxPassword: string;
  mebxChanged: boolean;
  adminPassword?: string;
  customHashes: FirmwareData['customHashes'];
  platform: 'desktop' | 'mobile';
  kerberosAes: boolean;
}

export function factoryData(f: FactoryFacts): FirmwareData {
  const schemes = POWER_SCHEMES[f.platform];
  return {
    provisioningState: 0,
    provisioningMode: 0,
    mebxHa1: amtDigestPassword('admin', f.realm, f.mebxPassword).hex,
    mebxChanged: f.mebxChanged,
    ...(f.adminPassword === undefined
      ? {}
      : { adminAcl: { username: 'admin', ha1: amtDigestPassword('admin', f.realm, f.adminPassword).hex } }),
    userAcls: [],
    nextHandle: 1,
    customHashes: f.customHashes,
    clockOffsetMs: 0,
    clockSet: false,
    hostName: '',
    domainName: '',
    sharedFqdn: true,
    pingIcmp: true,
    pingRmcp: false,
    webUi: false,
    redirectionListener: false,
    sol: false,
    ider: false,
    kerberos: defaultKerberos(f.kerberosAes),
    keys: [],
    certificates: [],
    tlsRemote: tlsOff(),
    tlsLocal: tlsOff(),
    powerSchemeId: schemes[0]!.instanceId,
    wifiPortState: 3,
    wifiLocalSync: 0,
    wifiProfiles: [],
    wired8021x: defaultWired8021x(),
  };
}

/**
 * Firmware memory in two layers: what is committed to flash, and the working copy that calls
 * change. Before provisioning completes every change waits for CommitChanges; afterwards most
 * take effect at once, except TLS settings (they still need CommitChanges). A power loss drops
 * the working copy. The working layer exists only while something is uncommitted, so an idle
 * device holds one copy.
 */
export class FirmwareMemory {
  committed: FirmwareData;
  private pending: FirmwareData | undefined;

  constructor(data: FirmwareData) {
    this.committed = data;
  }

  /** What calls see. */
  get current(): FirmwareData {
    return this.pending ?? this.committed;
  }

  get hasUncommitted(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Changes the firmware. `deferred` forces the change to wait for CommitChanges even after
   * provisioning (TLS settings).
   */
  change(fn: (d: FirmwareData) => void, deferred = false): void {
    if (this.committed.provisioningState === 2 && !deferred) {
      fn(this.committed);
      if (this.pending) fn(this.pending);
      return;
    }
    if (!this.pending) this.pending = structuredClone(this.committed);
    fn(this.pending);
  }

  commit(): void {
    if (this.pending) {
      this.committed = this.pending;
      this.pending = undefined;
    }
  }

  powerLoss(): void {
    this.pending = undefined;
  }

  /** Replaces both layers (unprovision writes flash directly). */
  reset(data: FirmwareData): void {
    this.committed = data;
    this.pending = undefined;
  }
}
