import type { IssuedTlsCertificate } from '../ca/index.js';
import type { KerberosKey } from '../directory/index.js';
import type { WifiProfileSetting, Wired8021xSetting } from '../store/types.js';

/**
 * What the flow asks of an AMT device, one method per effect. Implemented on @oobkit/wsman and
 * @oobkit/amt-soap (./amt.ts); every method is idempotent, so a resumed job can call it again.
 */
export interface AmtDevice {
  /** An authenticated call with the connection's current credentials (DigestError when refused). */
  checkLogin(): Promise<void>;
  /** AMT_SetupAndConfigurationService.ProvisioningState. */
  provisioningState(): Promise<'pre' | 'in' | 'post'>;
  /** The digest realm (AMT_GeneralSettings.DigestRealm) HA1 values are computed with. */
  digestRealm(): Promise<string>;
  /** Back to pre-provisioning (`Unprovision`, mode 1 = enterprise / admin control). */
  unprovision(): Promise<void>;
  readonly stage1: Stage1Driver;
  readonly stage2: Stage2Driver;
}

/** Stage 1 (flow A.7): SOAP on AMT ≤ 8, WS-Man on AMT ≥ 9. */
export interface Stage1Driver {
  readonly protocol: 'soap' | 'wsman';
  setClock(now: Date): Promise<void>;
  setNetworkNames(hostName: string, domainName: string): Promise<void>;
  /**
   * Gets a certificate for a key pair (the device's own when it can generate one), stores it in
   * AMT and turns TLS on for the network interface (effective at commit).
   */
  installTlsCertificate(
    issue: (req: { publicKeyPem?: string }) => Promise<IssuedTlsCertificate>,
  ): Promise<{ certificateId: string; deviceGeneratedKey: boolean }>;
  /** SetAdminAclEntryEx: `digestPassword` is base64 MD5(user:realm:password). */
  setAdminPassword(username: string, digestPassword: string): Promise<void>;
  setMebxPassword(password: string): Promise<void>;
  /** Saves the settings and moves AMT to post-provisioning. */
  commit(): Promise<void>;
}

export interface UserAclEntryInput {
  username?: string;
  /** base64 MD5(user:realm:password) */
  digestPassword?: string;
  kerberosSid?: string;
  accessPermission: 0 | 1 | 2;
  realms: number[];
}

export interface PowerSchemeInfo {
  instanceId: string;
  description: string;
  current: boolean;
}

/** Stage 2 (flow A.8), WS-Man on every generation. */
export interface Stage2Driver {
  /** Removes every removable user ACL entry, then adds `entries`. */
  replaceUserAcls(entries: UserAclEntryInput[]): Promise<{ removed: number; added: number }>;
  setPing(enabled: boolean): Promise<void>;
  setWebUi(enabled: boolean): Promise<void>;
  setRedirection(r: { sol: boolean; ider: boolean }): Promise<void>;
  setKerberos(k: KerberosKey & { servicePrincipalNames: string[] }): Promise<void>;
  listPowerSchemes(): Promise<PowerSchemeInfo[]>;
  setPowerScheme(instanceId: string): Promise<void>;
  /** Deletes every Wi-Fi profile and the certificates tied to Wi-Fi or wired 802.1X. */
  clearWireless(): Promise<{ profiles: number; certificates: number }>;
  hasWireless(): Promise<boolean>;
  addWifiProfile(p: WifiProfileSetting): Promise<void>;
  setWired8021x(s: Wired8021xSetting): Promise<void>;
}
