/** Typed bindings of the IPS_ classes the provisioning flows use (amt-protocol.md §5, §10). */
import type { WsmanClient } from '../client.js';
import type { TypedProperties } from '../schema.js';
import type { EndpointReference } from '../values.js';
import { defineClass, instanceOps, invokeMethod, SERVICE_PROPERTIES } from './common.js';

/** IPS_IEEE8021xSettings.Enabled (§10). */
export const IEEE8021X_ENABLED = { ON: 2, OFF: 3, ON_WITHOUT_CERTIFICATES: 6 } as const;

export const IEEE8021X_SETTINGS = defineClass(
  'IPS_IEEE8021xSettings',
  {
    AuthenticationProtocol: 'number',
    AvailableInS0: 'boolean',
    Domain: 'string',
    ElementName: 'string',
    Enabled: 'number',
    InstanceID: 'string',
    PACPassword: 'string',
    Password: 'string',
    ProtectedAccessCredential: 'string',
    PxeTimeout: 'number',
    RoamingIdentity: 'string',
    ServerCertificateName: 'string',
    ServerCertificateNameComparison: 'number',
    Username: 'string',
  },
  {
    keys: ['InstanceID'],
    methods: {
      SetCertificates: {
        input: { ServerCertificateIssuer: 'epr', ClientCertificate: 'epr' },
        output: {},
      },
    },
  },
);
/** IPS_IEEE8021xSettings (wired 802.1X on newer firmware). */
export interface IpsIEEE8021xSettings extends TypedProperties<typeof IEEE8021X_SETTINGS.properties> {}

const ieee8021xSettings = {
  ...instanceOps<IpsIEEE8021xSettings>(IEEE8021X_SETTINGS),
  /** Binds the CA (server issuer) and client certificates to the wired 802.1X settings. */
  async setCertificates(
    client: WsmanClient,
    certs: { serverCertificateIssuer?: EndpointReference; clientCertificate?: EndpointReference },
  ): Promise<void> {
    await invokeMethod(client, IEEE8021X_SETTINGS, 'SetCertificates', {
      ServerCertificateIssuer: certs.serverCertificateIssuer,
      ClientCertificate: certs.clientCertificate,
    });
  },
};

export const HOST_BASED_SETUP_SERVICE = defineClass(
  'IPS_HostBasedSetupService',
  {
    ...SERVICE_PROPERTIES,
    AllowedControlModes: 'number[]',
    CertChainStatus: 'number',
    ConfigurationNonce: 'string',
    CurrentControlMode: 'number',
  },
  {
    keys: ['Name'],
    methods: {
      Setup: { input: { NetAdminPassEncryptionType: 'number', NetworkAdminPassword: 'string' }, output: {} },
      AdminSetup: {
        input: {
          NetAdminPassEncryptionType: 'number',
          NetworkAdminPassword: 'string',
          McNonce: 'string',
          SigningAlgorithm: 'number',
          DigitalSignature: 'string',
        },
        output: {},
      },
      AddNextCertInChain: {
        input: { NextCertificate: 'string', IsLeaf: 'boolean', IsRootCertificate: 'boolean' },
        output: {},
      },
      UpgradeClientToAdmin: {
        input: { McNonce: 'string', SigningAlgorithm: 'number', DigitalSignature: 'string' },
        output: {},
      },
    },
  },
);
export interface IpsHostBasedSetupService
  extends TypedProperties<typeof HOST_BASED_SETUP_SERVICE.properties> {}

const hostBasedSetup = {
  ...instanceOps<IpsHostBasedSetupService>(HOST_BASED_SETUP_SERVICE),
  /** Client control mode setup; `passwordHash` is the admin digest HA1 (type 2 = HTTP digest MD5). */
  async setup(client: WsmanClient, passwordHash: string, encryptionType = 2): Promise<void> {
    await invokeMethod(client, HOST_BASED_SETUP_SERVICE, 'Setup', {
      NetAdminPassEncryptionType: encryptionType,
      NetworkAdminPassword: passwordHash,
    });
  },
  /** Admin control mode setup, signed with the provisioning certificate's key. */
  async adminSetup(
    client: WsmanClient,
    args: { passwordHash: string; mcNonce: string; signingAlgorithm: number; digitalSignature: string },
    encryptionType = 2,
  ): Promise<void> {
    await invokeMethod(client, HOST_BASED_SETUP_SERVICE, 'AdminSetup', {
      NetAdminPassEncryptionType: encryptionType,
      NetworkAdminPassword: args.passwordHash,
      McNonce: args.mcNonce,
      SigningAlgorithm: args.signingAlgorithm,
      DigitalSignature: args.digitalSignature,
    });
  },
  /** Sends one certificate of the provisioning chain (base64 DER), leaf first. */
  async addNextCertInChain(
    client: WsmanClient,
    certificateBase64: string,
    isLeaf: boolean,
    isRoot: boolean,
  ): Promise<void> {
    await invokeMethod(client, HOST_BASED_SETUP_SERVICE, 'AddNextCertInChain', {
      NextCertificate: certificateBase64,
      IsLeaf: isLeaf,
      IsRootCertificate: isRoot,
    });
  },
  async upgradeClientToAdmin(
    client: WsmanClient,
    args: { mcNonce: string; signingAlgorithm: number; digitalSignature: string },
  ): Promise<void> {
    await invokeMethod(client, HOST_BASED_SETUP_SERVICE, 'UpgradeClientToAdmin', {
      McNonce: args.mcNonce,
      SigningAlgorithm: args.signingAlgorithm,
      DigitalSignature: args.digitalSignature,
    });
  },
};

/** The IPS_ class bindings. */
export const ips = { ieee8021xSettings, hostBasedSetup };
