import type { Firmware } from './firmware.js';
import type { Personality, TrustedHash } from './personality.js';
import type {
  AclEntry,
  CertificateEntry,
  KerberosSettings,
  KeyEntry,
  PowerScheme,
  ProvisioningState,
  TlsSettings,
  WifiProfile,
  Wired8021x,
} from './state.js';

/** A copy of everything the firmware holds (the working layer, i.e. what calls see). */
export interface FirmwareStateSnapshot {
  uuid: string;
  address: string;
  ports: { http: number; tls: number };
  personality: Personality;
  firmwareVersion: string;
  provisioningState: ProvisioningState;
  /** 0 not provisioned, 1 admin control, 4 client control. */
  provisioningMode: number;
  /** Changes waiting for CommitChanges (lost on power loss). */
  uncommittedChanges: boolean;
  /** The committed provisioning state (what survives a power loss). */
  committedProvisioningState: ProvisioningState;
  trustedHashes: { builtIn: TrustedHash[]; custom: TrustedHash[] };
  dnsSuffix: string | undefined;
  mebx: { changed: boolean };
  realm: string;
  /** Admin account: user name and HA1 (hex); the MEBx password logs in while there is none. */
  admin: { username: string; ha1: string | undefined };
  userAcls: AclEntry[];
  clock: { timeMs: number; offsetMs: number; set: boolean };
  hostName: string;
  domainName: string;
  sharedFqdn: boolean;
  keys: KeyEntry[];
  certificates: CertificateEntry[];
  tls: { credentialCertificateId: string | undefined; remote: TlsSettings; local: TlsSettings };
  ping: { icmp: boolean; rmcp: boolean };
  webUi: boolean;
  redirection: { listener: boolean; sol: boolean; ider: boolean };
  kerberos: KerberosSettings;
  power: { schemes: readonly PowerScheme[]; currentId: string; current: PowerScheme | undefined };
  wifi: {
    capable: boolean;
    portState: number;
    localProfileSync: number;
    profiles: WifiProfile[];
    macAddress: string;
  };
  ieee8021x: { wired: Wired8021x; linkedCertificates: Array<{ certId: string; settingsId: string }> };
  /** ProvisioningServerOTP set by the host agent (readable over the wire only during setup). */
  otp: string | undefined;
  pid: string;
  hellos: { running: boolean };
}

export function snapshotOf(
  fw: Firmware,
  extra: {
    address: string;
    ports: { http: number; tls: number };
    dnsSuffix: string | undefined;
    builtIn: TrustedHash[];
    helloRunning: boolean;
  },
): FirmwareStateSnapshot {
  const d = structuredClone(fw.d);
  const c = fw.mem.committed;
  const state = (n: number): ProvisioningState => (n === 0 ? 'pre' : n === 1 ? 'in' : 'post');
  const schemes = fw.powerSchemes();
  return {
    uuid: fw.facts.uuid,
    address: extra.address,
    ports: { ...extra.ports },
    personality: fw.facts.profile.personality,
    firmwareVersion: fw.facts.profile.firmwareVersion,
    provisioningState: state(d.provisioningState),
    provisioningMode: d.provisioningMode,
    uncommittedChanges: fw.mem.hasUncommitted,
    committedProvisioningState: state(c.provisioningState),
    trustedHashes: {
      builtIn: extra.builtIn.map((h) => ({ algorithm: h.algorithm, hash: new Uint8Array(h.hash) })),
      custom: d.customHashes.map((h) => ({
        algorithm: h.algorithm,
        hash: new Uint8Array(Buffer.from(h.hash, 'hex')),
      })),
    },
    dnsSuffix: extra.dnsSuffix,
    mebx: { changed: d.mebxChanged },
    realm: fw.facts.realm,
    admin: { username: d.adminAcl?.username ?? 'admin', ha1: d.adminAcl?.ha1 },
    userAcls: d.userAcls,
    clock: { timeMs: Date.now() + d.clockOffsetMs, offsetMs: d.clockOffsetMs, set: d.clockSet },
    hostName: d.hostName,
    domainName: d.domainName,
    sharedFqdn: d.sharedFqdn,
    keys: d.keys,
    certificates: d.certificates,
    tls: { credentialCertificateId: d.tlsCredentialCertId, remote: d.tlsRemote, local: d.tlsLocal },
    ping: { icmp: d.pingIcmp, rmcp: d.pingRmcp },
    webUi: d.webUi,
    redirection: { listener: d.redirectionListener, sol: d.sol, ider: d.ider },
    kerberos: d.kerberos,
    power: {
      schemes,
      currentId: d.powerSchemeId,
      current: schemes.find((s) => s.instanceId === d.powerSchemeId),
    },
    wifi: {
      capable: fw.facts.wireless,
      portState: d.wifiPortState,
      localProfileSync: d.wifiLocalSync,
      profiles: d.wifiProfiles,
      macAddress: fw.facts.wifiMacAddress,
    },
    ieee8021x: { wired: d.wired8021x, linkedCertificates: fw.credentialContexts() },
    otp: d.otp,
    pid: fw.facts.pid,
    hellos: { running: extra.helloRunning },
  };
}
