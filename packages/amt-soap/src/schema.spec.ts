import { describe, expect, it } from 'vitest';
import { SOAP_SCHEMA, type SoapField, soapMethodShape, soapNamespace, soapServiceShape } from './schema.js';

function allFields(fields: readonly SoapField[]): SoapField[] {
  return fields.flatMap((f) => (typeof f.type === 'string' ? [f] : [f, ...allFields(f.type.fields)]));
}

describe('SOAP_SCHEMA', () => {
  it('follows the endpoint and namespace rules of amt-protocol.md §6', () => {
    for (const [name, svc] of Object.entries(SOAP_SCHEMA)) {
      expect(svc.interfaceName).toBe(name);
      expect(svc.path).toBe(`/${name}Service`);
      expect(svc.namespace).toBe(`http://schemas.intel.com/platform/client/${name}/2004/01`);
      expect(svc.namespace).toBe(soapNamespace(name));
    }
  });

  it('covers every stage-1 call the issue and amttool need', () => {
    const need: [string, string][] = [
      ['SecurityAdministration', 'GetCoreVersion'],
      ['SecurityAdministration', 'GenerateKeyPair'],
      ['SecurityAdministration', 'SetTLSKeyAndCertificate'],
      ['SecurityAdministration', 'SetTLSCertificate'],
      ['SecurityAdministration', 'SetTlsEnabled'],
      ['SecurityAdministration', 'SetAdminAclEntryEx'],
      ['SecurityAdministration', 'AddUserAclEntryEx'],
      ['SecurityAdministration', 'EnumerateUserAclEntries'],
      ['SecurityAdministration', 'RemoveUserAclEntry'],
      ['SecurityAdministration', 'SetProvisioningMode'],
      ['SecurityAdministration', 'CommitChanges'],
      ['SecurityAdministration', 'Unprovision'],
      ['SecurityAdministration', 'SetMEBxPassword'],
      ['NetworkAdministration', 'GetHostName'],
      ['NetworkAdministration', 'SetHostName'],
      ['NetworkAdministration', 'GetDomainName'],
      ['NetworkAdministration', 'SetDomainName'],
      ['NetworkAdministration', 'EnumerateInterfaces'],
      ['NetworkAdministration', 'GetInterfaceSettings'],
      ['NetworkAdministration', 'SetInterfaceSettings'],
      ['NetworkTime', 'GetLowAccuracyTimeSynch'],
      ['NetworkTime', 'SetHighAccuracyTimeSynch'],
      ['RemoteControl', 'GetSystemPowerState'],
      ['RemoteControl', 'GetRemoteControlCapabilities'],
      ['RemoteControl', 'RemoteControl'],
      ['GeneralInfo', 'GetCoreVersion'],
    ];
    for (const [s, m] of need) expect(soapMethodShape(s, m), `${s}.${m}`).toBeDefined();
  });

  it('marks every shape verified or unverified, and says where unverified ones come from', () => {
    for (const svc of Object.values(SOAP_SCHEMA)) {
      for (const [m, shape] of Object.entries(svc.methods)) {
        expect(typeof shape.verified, m).toBe('boolean');
        if (!shape.verified) expect(shape.source, m).toMatch(/^unverified; /);
        else expect(shape.source, m).not.toMatch(/unverified/);
      }
    }
    // amt-protocol.md §6 lists these as unverified: they must not be marked verified.
    for (const m of [
      'SetTLSKeyAndCertificate',
      'SetTlsEnabled',
      'GenerateKeyPair',
      'SetAdminAclEntryEx',
      'SetMEBxPassword',
      'CommitChanges',
      'SetProvisioningMode',
      'Unprovision',
      'SetActivePowerPackage',
    ]) {
      expect(soapMethodShape('SecurityAdministration', m)?.verified, m).toBe(false);
    }
    expect(soapMethodShape('NetworkTime', 'SetHighAccuracyTimeSynch')?.verified).toBe(false);
    expect(soapMethodShape('SecurityAdministration', 'GetCoreVersion')?.verified).toBe(true);
  });

  it('flags passwords, digests and keys as secret', () => {
    const secret = (s: string, m: string) =>
      allFields(soapMethodShape(s, m)?.input ?? [])
        .filter((f) => f.secret)
        .map((f) => f.name);
    expect(secret('SecurityAdministration', 'SetMEBxPassword')).toEqual(['Password']);
    expect(secret('SecurityAdministration', 'SetAdminAclEntryEx')).toEqual(['DigestPassword']);
    expect(secret('SecurityAdministration', 'AddUserAclEntryEx')).toEqual(['DigestPassword']);
    expect(secret('SecurityAdministration', 'SetTLSKeyAndCertificate')).toEqual(['PrivateKey']);
  });

  it('looks up only own entries', () => {
    expect(soapServiceShape('toString')).toBeUndefined();
    expect(soapMethodShape('NetworkAdministration', 'constructor')).toBeUndefined();
    expect(soapMethodShape('Nope', 'GetHostName')).toBeUndefined();
  });
});
