import { X509Certificate } from 'node:crypto';
import { amtDigestPassword } from '@oobkit/http-digest';
import { importPrivateKey, type KeyMaterial, type KeyPool, sharedKeyPool } from './keypool.js';
import { builtInHashes, type HashAlgorithm, type Profile, type TrustedHash } from './personality.js';
import {
  type AclEntry,
  type CertificateEntry,
  defaultKerberos,
  defaultWired8021x,
  type FactoryFacts,
  type FirmwareData,
  FirmwareMemory,
  factoryData,
  type Ieee8021xSettings,
  type KerberosSettings,
  LOCAL_TLS_ID,
  POWER_SCHEMES,
  type PowerScheme,
  type ProvisioningState,
  REMOTE_TLS_ID,
  type TlsSettings,
  type WifiProfile,
  type Wired8021x,
} from './state.js';
import { PT } from './status.js';

/** Realms an ACL entry may name (amt-protocol.md §5). */
const VALID_REALMS = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 24]);
const MAX_DIGEST_USERS = 7;
const MAX_KERBEROS_USERS = 32;
const MAX_KEYS = 16;
const MAX_CERTIFICATES = 32;
const MAX_WIFI_PROFILES = 32;
const MAX_WIFI_8021X_PROFILES = 8;
const WIFI_AUTH = new Set([1, 2, 3, 4, 5, 6, 7, 32768, 32769]);
const WIFI_ENCRYPTION = new Set([1, 2, 3, 4, 5, 32768]);
/** AddWiFiSettings ReturnValues (amt-protocol.md §10). */
export const WIFI_RV = {
  OK: 0,
  NOT_SUPPORTED: 1,
  FAILED: 2,
  INVALID_PARAMETER: 3,
  INVALID_REFERENCE: 4,
} as const;

export interface FirmwareFacts {
  uuid: string;
  profile: Profile;
  realm: string;
  dnsSuffix: string | undefined;
  platform: 'desktop' | 'mobile';
  wireless: boolean;
  /** PSK PID (legacy PSK hellos). */
  pid: string;
  macAddress: string;
  wifiMacAddress: string;
}

/** What AddUserAclEntryEx / UpdateUserAclEntryEx carry (a digest user or a Kerberos SID). */
export interface AclInput {
  username?: string;
  digestPasswordB64?: string;
  kerberosSid?: string;
  accessPermission: number;
  realms: number[];
}

export interface Result<T = Record<string, never>> {
  status: number;
  value?: T;
}

const ok = <T>(value: T): Result<T> => ({ status: PT.SUCCESS, value });
const fail = (status: number): Result<never> => ({ status });

function validUsername(name: string): boolean {
  // 7-bit ASCII, 1–16 characters (amt-protocol.md §4)
  return name.length >= 1 && name.length <= 16 && /^[\x21-\x7e]+$/.test(name) && !name.includes(':');
}

function decodeDigest(b64: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const raw = Buffer.from(b64, 'base64');
  return raw.length === 16 ? raw.toString('hex') : undefined;
}

function parseCertificate(b64: string): X509Certificate | undefined {
  if (!/^[A-Za-z0-9+/\s]+={0,2}$/.test(b64)) return undefined;
  try {
    return new X509Certificate(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

/** The data a factory device starts with, plus the rules every call follows. */
export class Firmware {
  readonly mem: FirmwareMemory;
  /** Private keys by AMT_PublicPrivateKeyPair InstanceID (kept out of the cloned layers). */
  readonly keyMaterials = new Map<string, KeyMaterial>();
  /** Every key this device ever held, by DER public key, so a cloned layer can find it again. */
  private readonly keysByDer = new Map<string, KeyMaterial>();

  constructor(
    readonly facts: FirmwareFacts,
    private readonly factory: FactoryFacts,
    private readonly keyPool: () => Promise<KeyPool>,
  ) {
    this.mem = new FirmwareMemory(factoryData(factory));
  }

  get d(): FirmwareData {
    return this.mem.current;
  }

  get provisioningState(): ProvisioningState {
    const s = this.d.provisioningState;
    return s === 0 ? 'pre' : s === 1 ? 'in' : 'post';
  }

  /** Whether the committed state is post-provisioning (what the network side acts on). */
  get committedPost(): boolean {
    return this.mem.committed.provisioningState === 2;
  }

  trustedHashes(): TrustedHash[] {
    return [
      ...builtInHashes(this.facts.profile.hashAlgorithm),
      ...this.mem.committed.customHashes.map((h) => ({
        algorithm: h.algorithm,
        hash: new Uint8Array(Buffer.from(h.hash, 'hex')),
      })),
    ];
  }

  /** Digest HA1 for a user, from committed data: uncommitted ACL changes do not log anyone in. */
  ha1For(username: string): string | undefined {
    const c = this.mem.committed;
    if (c.adminAcl) {
      if (username === c.adminAcl.username) return c.adminAcl.ha1;
    } else if (username === 'admin') {
      // Before provisioning the admin account's password is the MEBx password.
      return c.mebxHa1;
    }
    return c.userAcls.find((u) => u.username === username)?.ha1;
  }

  isAdmin(username: string): boolean {
    const c = this.mem.committed;
    return username === (c.adminAcl?.username ?? 'admin');
  }

  /** Moves a pre-provisioning device to "in provisioning" (uncommitted, like everything else). */
  beginProvisioning(): void {
    if (this.d.provisioningState === 0) {
      this.mem.change((d) => {
        d.provisioningState = 1;
      });
    }
  }

  timeMs(): number {
    return Date.now() + this.d.clockOffsetMs;
  }

  // ---------------------------------------------------------------- general settings

  putGeneralSettings(p: {
    hostName?: string;
    domainName?: string;
    pingIcmp?: boolean;
    pingRmcp?: boolean;
    sharedFqdn?: boolean;
  }): Result {
    if (p.hostName !== undefined && !this.validHostName(p.hostName)) return fail(PT.INVALID_PARAMETER);
    if (p.domainName !== undefined && !this.validDomainName(p.domainName))
      return fail(PT.INVALID_DOMAIN_NAME);
    this.mem.change((d) => {
      if (p.hostName !== undefined) d.hostName = p.hostName;
      if (p.domainName !== undefined) d.domainName = p.domainName;
      if (p.pingIcmp !== undefined) d.pingIcmp = p.pingIcmp;
      if (p.pingRmcp !== undefined) d.pingRmcp = p.pingRmcp;
      if (p.sharedFqdn !== undefined) d.sharedFqdn = p.sharedFqdn;
    });
    return ok({});
  }

  private validHostName(name: string): boolean {
    return name.length <= 63 && /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$|^$/.test(name);
  }

  private validDomainName(name: string): boolean {
    if (name === '') return true;
    if (name.length > 191) return false;
    return name.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
  }

  // ---------------------------------------------------------------- time

  getLowAccuracyTimeSynch(): Result<{ ta0: number }> {
    return ok({ ta0: Math.floor(this.timeMs() / 1000) });
  }

  setHighAccuracyTimeSynch(ta0: number, tm1: number, tm2: number): Result {
    const valid = (n: number) => Number.isInteger(n) && n >= 0 && n < 2 ** 32;
    if (!valid(ta0) || !valid(tm1) || !valid(tm2) || tm2 < tm1) return fail(PT.INVALID_PARAMETER);
    // Ta0 must be a time the firmware could have answered (not in its future).
    if (ta0 > Math.floor(this.timeMs() / 1000) + 1) return fail(PT.INVALID_TIME);
    const offset = tm2 * 1000 - Date.now();
    this.mem.change((d) => {
      d.clockOffsetMs = offset;
      d.clockSet = true;
    });
    return ok({});
  }

  // ---------------------------------------------------------------- keys and certificates

  private newHandle(d: FirmwareData): number {
    const h = d.nextHandle;
    d.nextHandle += 1;
    return h;
  }

  private rememberKey(k: KeyMaterial): void {
    this.keysByDer.set(k.derKey, k);
  }

  /** The private key behind a key entry, if this device holds it. */
  keyFor(keyInstanceId: string): KeyMaterial | undefined {
    const entry = this.d.keys.find((k) => k.instanceId === keyInstanceId);
    return entry ? this.keysByDer.get(entry.derKey) : undefined;
  }

  private storeKey(k: KeyMaterial): Result<{ keyId: string }> {
    if (this.d.keys.length >= MAX_KEYS) return fail(PT.MAX_LIMIT_REACHED);
    if (this.d.keys.some((e) => e.derKey === k.derKey)) return fail(PT.DUPLICATE);
    this.rememberKey(k);
    let keyId = '';
    this.mem.change((d) => {
      keyId = `Intel(r) AMT Key: Handle: ${this.newHandle(d)}`;
      d.keys.push({ instanceId: keyId, bits: k.bits, derKey: k.derKey });
      // A certificate added before its key gets linked now.
      for (const c of d.certificates) {
        if (!c.keyInstanceId && this.certMatchesKey(c, k)) c.keyInstanceId = keyId;
      }
    });
    return ok({ keyId });
  }

  async generateKeyPair(algorithm: number, bits: number): Promise<Result<{ keyId: string }>> {
    if (algorithm !== 0) return fail(PT.INVALID_PARAMETER);
    const allowed = this.facts.profile.version.major >= 6 ? [1024, 2048, 4096] : [1024, 2048];
    if (!allowed.includes(bits) || bits < this.facts.profile.minKeyBits) return fail(PT.INVALID_PARAMETER);
    if (this.d.keys.length >= MAX_KEYS) return fail(PT.MAX_LIMIT_REACHED);
    const pool = await this.keyPool();
    const source = pool.bits === bits ? pool : await sharedKeyPool(bits);
    // Pool keys repeat across devices; within one device skip keys it already holds.
    for (let i = 0; i < source.size; i++) {
      const k = source.take();
      if (!this.d.keys.some((e) => e.derKey === k.derKey)) return this.storeKey(k);
    }
    return fail(PT.MAX_LIMIT_REACHED);
  }

  addKey(keyBlobB64: string): Result<{ keyId: string }> {
    const k = importPrivateKey(Buffer.from(keyBlobB64, 'base64'));
    if (!k) return fail(PT.INVALID_KEY);
    if (k.bits < this.facts.profile.minKeyBits) return fail(PT.INVALID_KEY);
    return this.storeKey(k);
  }

  private certMatchesKey(c: CertificateEntry, k: KeyMaterial): boolean {
    const x = parseCertificate(c.der);
    return x?.checkPrivateKey(k.privateKey) === true;
  }

  private storeCertificate(b64: string, trustedRoot: boolean): Result<{ certId: string }> {
    const x = parseCertificate(b64);
    if (!x) return fail(PT.INVALID_CERT);
    if (trustedRoot && !x.ca) return fail(PT.INVALID_CERT);
    const der = x.raw.toString('base64');
    if (this.d.certificates.some((c) => c.der === der)) return fail(PT.DUPLICATE);
    if (this.d.certificates.length >= MAX_CERTIFICATES) return fail(PT.MAX_LIMIT_REACHED);
    const key = trustedRoot
      ? undefined
      : this.d.keys.find((e) => {
          const m = this.keysByDer.get(e.derKey);
          return m !== undefined && x.checkPrivateKey(m.privateKey);
        });
    let certId = '';
    this.mem.change((d) => {
      certId = `Intel(r) AMT Certificate: Handle: ${this.newHandle(d)}`;
      d.certificates.push({
        instanceId: certId,
        der,
        subject: x.subject.replace(/\n/g, ','),
        issuer: x.issuer.replace(/\n/g, ','),
        trustedRoot,
        readOnly: false,
        ...(key ? { keyInstanceId: key.instanceId } : {}),
      });
    });
    return ok({ certId });
  }

  addCertificate(b64: string): Result<{ certId: string }> {
    return this.storeCertificate(b64, false);
  }

  addTrustedRootCertificate(b64: string): Result<{ certId: string }> {
    return this.storeCertificate(b64, true);
  }

  /** Deletes a key; a key still bound to a certificate the device uses cannot go. */
  deleteKey(keyId: string): Result {
    const d = this.d;
    if (!d.keys.some((k) => k.instanceId === keyId)) return fail(PT.NOT_FOUND);
    const cert = d.certificates.find((c) => c.keyInstanceId === keyId);
    if (cert && d.tlsCredentialCertId === cert.instanceId) return fail(PT.NOT_PERMITTED);
    this.mem.change((dd) => {
      dd.keys = dd.keys.filter((k) => k.instanceId !== keyId);
      for (const c of dd.certificates) if (c.keyInstanceId === keyId) delete c.keyInstanceId;
    });
    return ok({});
  }

  /**
   * Deletes a certificate. Read-only ones and the one TLS is using refuse; references from
   * Wi-Fi and 802.1X settings are dropped with it.
   */
  deleteCertificate(certId: string): Result {
    const c = this.d.certificates.find((x) => x.instanceId === certId);
    if (!c) return fail(PT.NOT_FOUND);
    if (c.readOnly || this.d.tlsCredentialCertId === certId) return fail(PT.NOT_PERMITTED);
    this.mem.change((d) => {
      d.certificates = d.certificates.filter((x) => x.instanceId !== certId);
      for (const p of d.wifiProfiles) {
        if (p.ieee8021x?.clientCertificateId === certId) delete p.ieee8021x.clientCertificateId;
        if (p.ieee8021x?.caCertificateId === certId) delete p.ieee8021x.caCertificateId;
      }
      if (d.wired8021x.clientCertificateId === certId) delete d.wired8021x.clientCertificateId;
      if (d.wired8021x.serverCertificateIssuerId === certId) delete d.wired8021x.serverCertificateIssuerId;
    });
    return ok({});
  }

  /** Certificates linked to a Wi-Fi profile or to wired 802.1X (CIM_CredentialContext). */
  credentialContexts(): Array<{ certId: string; settingsId: string }> {
    const out: Array<{ certId: string; settingsId: string }> = [];
    for (const p of this.d.wifiProfiles) {
      const id = p.ieee8021x ? `Intel(r) AMT:IEEE 802.1x Settings ${p.elementName}` : undefined;
      if (!id) continue;
      if (p.ieee8021x?.clientCertificateId)
        out.push({ certId: p.ieee8021x.clientCertificateId, settingsId: id });
      if (p.ieee8021x?.caCertificateId) out.push({ certId: p.ieee8021x.caCertificateId, settingsId: id });
    }
    const w = this.d.wired8021x;
    if (w.clientCertificateId)
      out.push({ certId: w.clientCertificateId, settingsId: 'Intel(r) AMT: 8021X Settings' });
    if (w.serverCertificateIssuerId) {
      out.push({ certId: w.serverCertificateIssuerId, settingsId: 'Intel(r) AMT: 8021X Settings' });
    }
    return out;
  }

  // ---------------------------------------------------------------- TLS

  createTlsCredentialContext(certId: string): Result {
    const cert = this.d.certificates.find((c) => c.instanceId === certId);
    if (!cert) return fail(PT.NOT_FOUND);
    if (!cert.keyInstanceId || !this.keyFor(cert.keyInstanceId)) return fail(PT.PKI_MISSING_KEYS);
    if (this.d.tlsCredentialCertId) return fail(PT.DUPLICATE);
    this.mem.change((d) => {
      d.tlsCredentialCertId = certId;
    }, true);
    return ok({});
  }

  deleteTlsCredentialContext(): Result {
    if (!this.d.tlsCredentialCertId) return fail(PT.NOT_FOUND);
    if (this.d.tlsRemote.enabled) return fail(PT.NOT_PERMITTED);
    this.mem.change((d) => {
      delete d.tlsCredentialCertId;
    }, true);
    return ok({});
  }

  tlsSettings(instanceId: string): TlsSettings | undefined {
    if (instanceId === REMOTE_TLS_ID) return this.d.tlsRemote;
    if (instanceId === LOCAL_TLS_ID) return this.d.tlsLocal;
    return undefined;
  }

  putTlsSettings(instanceId: string, p: Partial<TlsSettings>): Result {
    if (!this.tlsSettings(instanceId)) return fail(PT.NOT_FOUND);
    const remote = instanceId === REMOTE_TLS_ID;
    this.mem.change((d) => {
      const t = remote ? d.tlsRemote : d.tlsLocal;
      if (p.enabled !== undefined) t.enabled = p.enabled;
      if (p.mutualAuthentication !== undefined) t.mutualAuthentication = p.mutualAuthentication;
      if (p.acceptNonSecureConnections !== undefined)
        t.acceptNonSecureConnections = p.acceptNonSecureConnections;
      if (p.trustedCn !== undefined) t.trustedCn = p.trustedCn;
    }, true);
    return ok({});
  }

  /** The certificate and key 16993 presents, once TLS is on and committed. */
  activeTlsCredential(): { certDer: string; key: KeyMaterial } | undefined {
    const c = this.mem.committed;
    if (!c.tlsRemote.enabled || !c.tlsCredentialCertId) return undefined;
    const cert = c.certificates.find((x) => x.instanceId === c.tlsCredentialCertId);
    const keyEntry = cert?.keyInstanceId
      ? c.keys.find((k) => k.instanceId === cert.keyInstanceId)
      : undefined;
    const key = keyEntry ? this.keysByDer.get(keyEntry.derKey) : undefined;
    return cert && key ? { certDer: cert.der, key } : undefined;
  }

  /** Legacy SOAP: the key (PEM/DER, optional: else the last generated one) and leaf-first chain. */
  setTlsKeyAndCertificate(privateKeyB64: string | undefined, chainB64: string[]): Result {
    const leaf = chainB64[0];
    if (!leaf) return fail(PT.INVALID_PARAMETER);
    if (privateKeyB64) {
      const added = this.addKey(privateKeyB64);
      if (added.status !== PT.SUCCESS && added.status !== PT.DUPLICATE) return fail(added.status);
    }
    const x = parseCertificate(leaf);
    if (!x) return fail(PT.INVALID_CERT);
    const der = x.raw.toString('base64');
    let cert = this.d.certificates.find((c) => c.der === der);
    if (!cert) {
      const added = this.addCertificate(leaf);
      if (added.status !== PT.SUCCESS) return fail(added.status);
      cert = this.d.certificates.find((c) => c.instanceId === added.value?.certId);
    }
    if (!cert?.keyInstanceId) return fail(PT.CERT_KEY_NOT_MATCH);
    const certId = cert.instanceId;
    this.mem.change((d) => {
      d.tlsCredentialCertId = certId;
    }, true);
    return ok({});
  }

  // ---------------------------------------------------------------- ACLs

  setAdminAclEntryEx(username: string, digestPasswordB64: string): Result {
    const ha1 = decodeDigest(digestPasswordB64);
    if (!validUsername(username) || username.startsWith('$$') || ha1 === undefined) {
      return fail(PT.INVALID_PARAMETER);
    }
    if (this.d.userAcls.some((u) => u.username === username)) return fail(PT.DUPLICATE);
    this.mem.change((d) => {
      d.adminAcl = { username, ha1 };
    });
    return ok({});
  }

  adminUsername(): string {
    return this.d.adminAcl?.username ?? 'admin';
  }

  enumerateUserAclEntries(startIndex: number): Result<{ total: number; handles: number[] }> {
    const all = this.d.userAcls.map((u) => u.handle);
    if (!Number.isInteger(startIndex) || startIndex < 1) return fail(PT.INVALID_INDEX);
    if (all.length > 0 && startIndex > all.length) return fail(PT.INVALID_INDEX);
    return ok({ total: all.length, handles: all.slice(startIndex - 1, startIndex - 1 + 50) });
  }

  userAcl(handle: number): AclEntry | undefined {
    return this.d.userAcls.find((u) => u.handle === handle);
  }

  addUserAclEntryEx(p: AclInput): Result<{ handle: number }> {
    const check = this.checkAclInput(p, undefined);
    if (check !== PT.SUCCESS) return fail(check);
    let handle = 0;
    this.mem.change((d) => {
      handle = this.newHandle(d);
      d.userAcls.push(this.aclEntry(handle, p));
    });
    return ok({ handle });
  }

  updateUserAclEntryEx(handle: number, p: AclInput): Result {
    const existing = this.userAcl(handle);
    if (!existing) return fail(PT.INVALID_HANDLE);
    if (existing.system) return fail(PT.NOT_PERMITTED);
    const check = this.checkAclInput(p, handle);
    if (check !== PT.SUCCESS) return fail(check);
    this.mem.change((d) => {
      const i = d.userAcls.findIndex((u) => u.handle === handle);
      if (i >= 0) d.userAcls[i] = this.aclEntry(handle, p);
    });
    return ok({});
  }

  private aclEntry(handle: number, p: AclInput): AclEntry {
    const ha1 = p.digestPasswordB64 === undefined ? undefined : decodeDigest(p.digestPasswordB64);
    return {
      handle,
      ...(p.username === undefined ? {} : { username: p.username }),
      ...(ha1 === undefined ? {} : { ha1 }),
      ...(p.kerberosSid === undefined ? {} : { kerberosSid: p.kerberosSid }),
      accessPermission: p.accessPermission,
      realms: [...p.realms],
    };
  }

  private checkAclInput(p: AclInput, self: number | undefined): number {
    const digest = p.username !== undefined;
    const kerberos = p.kerberosSid !== undefined;
    if (digest === kerberos) return PT.INVALID_PARAMETER;
    if (![0, 1, 2].includes(p.accessPermission)) return PT.INVALID_PARAMETER;
    if (p.realms.length === 0 || p.realms.some((r) => !VALID_REALMS.has(r))) return PT.INVALID_REALM;
    const others = this.d.userAcls.filter((u) => u.handle !== self);
    if (digest) {
      const name = p.username ?? '';
      if (!validUsername(name) || name.startsWith('$$')) return PT.INVALID_PARAMETER;
      if (p.digestPasswordB64 === undefined || decodeDigest(p.digestPasswordB64) === undefined) {
        return PT.INVALID_PASSWORD;
      }
      if (name === this.adminUsername() || others.some((u) => u.username === name)) return PT.DUPLICATE;
      if (others.filter((u) => u.username !== undefined && !u.system).length >= MAX_DIGEST_USERS) {
        return PT.MAX_LIMIT_REACHED;
      }
    } else {
      const sid = Buffer.from(p.kerberosSid ?? '', 'base64');
      if (sid.length < 8 || sid[0] !== 1 || sid.length !== 8 + 4 * (sid[1] ?? 0)) return PT.INVALID_PARAMETER;
      if (others.some((u) => u.kerberosSid === p.kerberosSid)) return PT.DUPLICATE;
      if (others.filter((u) => u.kerberosSid !== undefined).length >= MAX_KERBEROS_USERS) {
        return PT.MAX_KERB_DOMAIN_REACHED;
      }
    }
    return PT.SUCCESS;
  }

  removeUserAclEntry(handle: number): Result {
    const e = this.userAcl(handle);
    if (!e) return fail(PT.INVALID_HANDLE);
    if (e.system || e.username?.startsWith('$$')) return fail(PT.NOT_PERMITTED);
    this.mem.change((d) => {
      d.userAcls = d.userAcls.filter((u) => u.handle !== handle);
    });
    return ok({});
  }

  // ---------------------------------------------------------------- setup and configuration

  /**
   * MEBx password policy: settable remotely only while it is still the factory one, only in
   * admin control / during setup, and only with a strong password.
   */
  setMebxPassword(password: string, strong: (pw: string) => boolean): Result {
    if (this.d.mebxChanged) return fail(PT.NOT_PERMITTED);
    if (this.d.provisioningState === 2 && this.d.provisioningMode === 4) return fail(PT.NOT_PERMITTED);
    if (!strong(password)) return fail(PT.INVALID_PASSWORD);
    const ha1 = amtDigestPassword('admin', this.facts.realm, password).hex;
    this.mem.change((d) => {
      d.mebxHa1 = ha1;
      d.mebxChanged = true;
    });
    return ok({});
  }

  verifyMebxPassword(password: string): boolean {
    return this.d.mebxHa1 === amtDigestPassword('admin', this.facts.realm, password).hex;
  }

  commitChanges(): Result {
    const d = this.d;
    if (d.provisioningState !== 2) {
      if (!d.adminAcl) return fail(PT.DATA_MISSING);
    }
    if (d.tlsRemote.enabled && !d.tlsCredentialCertId) return fail(PT.DATA_MISSING);
    if (d.provisioningState !== 2) {
      this.mem.change((dd) => {
        dd.provisioningState = 2;
        dd.provisioningMode = 1;
        delete dd.otp;
      });
    }
    this.mem.commit();
    return ok({});
  }

  canUnprovision(mode: number): number {
    if (![0, 1, 2, 3].includes(mode)) return PT.INVALID_PARAMETER;
    if (this.d.provisioningState !== 2) return PT.NOT_PERMITTED;
    return PT.SUCCESS;
  }

  /**
   * Full unprovision clears ACLs (admin back to `admin`), keys, certificates, Wi-Fi and 802.1X,
   * custom hashes and every setting; the MEBx password stays. Partial keeps the admin ACL, the
   * PID/PPS and custom hashes. (Intel's "Restoring Intel AMT to Factory Mode".)
   */
  unprovision(kind: 'full' | 'partial'): void {
    const before = this.mem.committed;
    const fresh = factoryData({
      ...this.factory,
      adminPassword: undefined,
      mebxPassword: '',
      customHashes: kind === 'partial' ? before.customHashes : [],
    });
    fresh.mebxHa1 = before.mebxHa1;
    fresh.mebxChanged = before.mebxChanged;
    fresh.nextHandle = before.nextHandle;
    if (kind === 'partial') {
      if (before.adminAcl) fresh.adminAcl = { ...before.adminAcl };
      if (before.pid) fresh.pid = before.pid;
    }
    this.mem.reset(fresh);
  }

  setOtp(otp: string | undefined): Result {
    if (this.mem.committed.provisioningState === 2) return fail(PT.INVALID_PROVISIONING_STATE);
    if (otp !== undefined && (otp.length < 8 || otp.length > 32)) return fail(PT.INVALID_PARAMETER);
    const c = this.mem.committed;
    if (otp === undefined) delete c.otp;
    else c.otp = otp;
    return ok({});
  }

  // ---------------------------------------------------------------- redirection, web UI

  setRedirection(requested: number): Result {
    if (requested < 32768 || requested > 32771) return fail(PT.INVALID_PARAMETER);
    const bits = requested - 32768;
    this.mem.change((d) => {
      d.ider = (bits & 1) !== 0;
      d.sol = (bits & 2) !== 0;
    });
    return ok({});
  }

  setRedirectionListener(enabled: boolean): Result {
    this.mem.change((d) => {
      d.redirectionListener = enabled;
    });
    return ok({});
  }

  setWebUi(requested: number): Result {
    if (requested !== 2 && requested !== 3) return fail(PT.INVALID_PARAMETER);
    this.mem.change((d) => {
      d.webUi = requested === 2;
    });
    return ok({});
  }

  // ---------------------------------------------------------------- Kerberos

  putKerberos(p: Partial<KerberosSettings>): Result {
    if (p.masterKey !== undefined && Buffer.from(p.masterKey, 'base64').length !== 16) {
      return fail(PT.INVALID_PARAMETER);
    }
    if (p.servicePrincipalNames !== undefined && p.servicePrincipalNames.length > 4) {
      return fail(PT.INVALID_PARAMETER);
    }
    if (
      p.maximumClockTolerance !== undefined &&
      (p.maximumClockTolerance < 1 || p.maximumClockTolerance > 5)
    ) {
      return fail(PT.INVALID_PARAMETER);
    }
    const supported = this.d.kerberos.supportedEncryptionAlgorithms;
    if (p.encryptionAlgorithm !== undefined && !supported.includes(p.encryptionAlgorithm)) {
      return fail(PT.INVALID_PARAMETER);
    }
    if (p.configuredEncryptionAlgorithms?.some((a) => !supported.includes(a)))
      return fail(PT.INVALID_PARAMETER);
    if (p.krbEnabled && !(p.realmName ?? this.d.kerberos.realmName)) return fail(PT.INVALID_PARAMETER);
    this.mem.change((d) => {
      const k = d.kerberos;
      for (const [key, value] of Object.entries(p) as Array<[keyof KerberosSettings, unknown]>) {
        if (value !== undefined && key !== 'supportedEncryptionAlgorithms') {
          (k as unknown as Record<string, unknown>)[key] = value;
        }
      }
    });
    return ok({});
  }

  setCredentialCacheState(enable: boolean): Result {
    this.mem.change((d) => {
      d.kerberos.credentialCacheEnabled = enable;
    });
    return ok({});
  }

  // ---------------------------------------------------------------- power

  powerSchemes(): readonly PowerScheme[] {
    return POWER_SCHEMES[this.facts.platform];
  }

  setPowerScheme(instanceId: string): Result {
    if (!this.powerSchemes().some((s) => s.instanceId === instanceId)) return fail(PT.NOT_FOUND);
    this.mem.change((d) => {
      d.powerSchemeId = instanceId;
    });
    return ok({});
  }

  // ---------------------------------------------------------------- wireless and 802.1X

  addWifiSettings(p: {
    elementName: string;
    ssid: string;
    authenticationMethod: number;
    encryptionMethod: number;
    priority: number;
    pskPassPhrase?: string;
    ieee8021x?: Ieee8021xSettings;
    clientCertificateId?: string;
    caCertificateId?: string;
  }): Result<{ instanceId: string }> {
    const rv = (n: number) => ({ status: n });
    if (!this.facts.wireless) return rv(WIFI_RV.NOT_SUPPORTED);
    const d = this.d;
    if (!p.elementName || p.elementName.length > 32) return rv(WIFI_RV.INVALID_PARAMETER);
    if (!p.ssid || Buffer.byteLength(p.ssid) > 32) return rv(WIFI_RV.INVALID_PARAMETER);
    if (!WIFI_AUTH.has(p.authenticationMethod) || !WIFI_ENCRYPTION.has(p.encryptionMethod)) {
      return rv(WIFI_RV.INVALID_PARAMETER);
    }
    const psk = p.authenticationMethod === 4 || p.authenticationMethod === 6;
    if (psk !== (p.pskPassPhrase !== undefined)) return rv(WIFI_RV.INVALID_PARAMETER);
    if (p.pskPassPhrase !== undefined && (p.pskPassPhrase.length < 8 || p.pskPassPhrase.length > 63)) {
      return rv(WIFI_RV.INVALID_PARAMETER);
    }
    const dot1x = p.authenticationMethod === 5 || p.authenticationMethod === 7;
    if (dot1x !== (p.ieee8021x !== undefined)) return rv(WIFI_RV.INVALID_PARAMETER);
    if (!Number.isInteger(p.priority) || p.priority < 1 || p.priority > 255)
      return rv(WIFI_RV.INVALID_PARAMETER);
    if (d.wifiProfiles.some((w) => w.priority === p.priority)) return rv(PT.INVALID_PRIORITY);
    if (d.wifiProfiles.some((w) => w.elementName === p.elementName)) return rv(WIFI_RV.FAILED);
    if (d.wifiProfiles.length >= MAX_WIFI_PROFILES) return rv(WIFI_RV.FAILED);
    if (dot1x && d.wifiProfiles.filter((w) => w.ieee8021x).length >= MAX_WIFI_8021X_PROFILES) {
      return rv(WIFI_RV.FAILED);
    }
    for (const ref of [p.clientCertificateId, p.caCertificateId]) {
      if (ref !== undefined && !d.certificates.some((c) => c.instanceId === ref))
        return rv(WIFI_RV.INVALID_REFERENCE);
    }
    const instanceId = `Intel(r) AMT:WiFi Endpoint Settings ${p.elementName}`;
    this.mem.change((dd) => {
      const profile: WifiProfile = {
        instanceId,
        elementName: p.elementName,
        ssid: p.ssid,
        authenticationMethod: p.authenticationMethod,
        encryptionMethod: p.encryptionMethod,
        priority: p.priority,
        user: false,
        ...(p.pskPassPhrase === undefined ? {} : { pskPassPhrase: p.pskPassPhrase }),
      };
      if (p.ieee8021x) {
        profile.ieee8021x = {
          ...p.ieee8021x,
          ...(p.clientCertificateId ? { clientCertificateId: p.clientCertificateId } : {}),
          ...(p.caCertificateId ? { caCertificateId: p.caCertificateId } : {}),
        };
      }
      dd.wifiProfiles.push(profile);
    });
    return ok({ instanceId });
  }

  deleteWifiProfile(instanceId: string): Result {
    if (!this.d.wifiProfiles.some((w) => w.instanceId === instanceId)) return fail(PT.NOT_FOUND);
    this.mem.change((d) => {
      d.wifiProfiles = d.wifiProfiles.filter((w) => w.instanceId !== instanceId);
    });
    return ok({});
  }

  deleteAllWifiProfiles(user: boolean): Result {
    if (!this.facts.wireless) return fail(WIFI_RV.NOT_SUPPORTED);
    this.mem.change((d) => {
      d.wifiProfiles = d.wifiProfiles.filter((w) => w.user !== user);
    });
    return ok({});
  }

  setWifiPortState(requested: number): Result {
    return this.setWifiNumber('wifiPortState', requested, [3, 32768, 32769]);
  }

  setWifiLocalSync(value: number): Result {
    return this.setWifiNumber('wifiLocalSync', value, [0, 1, 3]);
  }

  private setWifiNumber(key: 'wifiPortState' | 'wifiLocalSync', value: number, allowed: number[]): Result {
    if (!this.facts.wireless) return fail(WIFI_RV.NOT_SUPPORTED);
    if (!allowed.includes(value)) return fail(PT.INVALID_PARAMETER);
    this.mem.change((d) => {
      d[key] = value;
    });
    return ok({});
  }

  putWired8021x(p: Partial<Wired8021x>): Result {
    if (
      p.authenticationProtocol !== undefined &&
      (p.authenticationProtocol < 0 || p.authenticationProtocol > 6)
    ) {
      return fail(PT.INVALID_PARAMETER);
    }
    if (p.username !== undefined && p.username.length > 128) return fail(PT.INVALID_PARAMETER);
    if (p.password !== undefined && p.password.length > 32) return fail(PT.INVALID_PARAMETER);
    if (p.pxeTimeout !== undefined && (p.pxeTimeout < 0 || p.pxeTimeout > 86400))
      return fail(PT.INVALID_PARAMETER);
    if (p.ipsEnabled !== undefined && ![2, 3, 6].includes(p.ipsEnabled)) return fail(PT.INVALID_PARAMETER);
    for (const ref of [p.clientCertificateId, p.serverCertificateIssuerId]) {
      if (ref !== undefined && !this.d.certificates.some((c) => c.instanceId === ref))
        return fail(PT.NOT_FOUND);
    }
    this.mem.change((d) => {
      const w = d.wired8021x;
      for (const [key, value] of Object.entries(p)) {
        if (value !== undefined) (w as unknown as Record<string, unknown>)[key] = value;
      }
      if (p.ipsEnabled !== undefined) w.enabled = p.ipsEnabled !== 3;
      if (p.enabled !== undefined && p.ipsEnabled === undefined) w.ipsEnabled = p.enabled ? 2 : 3;
    });
    return ok({});
  }

  resetWired8021x(): void {
    this.mem.change((d) => {
      d.wired8021x = defaultWired8021x();
    });
  }

  resetKerberos(): void {
    this.mem.change((d) => {
      d.kerberos = defaultKerberos(this.facts.profile.kerberosAes);
    });
  }

  hashAlgorithm(): HashAlgorithm {
    return this.facts.profile.hashAlgorithm;
  }
}
