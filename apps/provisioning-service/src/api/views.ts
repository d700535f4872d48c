import { leafValidity } from '../readiness.js';
import type {
  DeviceRecord,
  DeviceSecret,
  ImportedComputer,
  Job,
  ProvisioningCertificateInfo,
  SiteStore,
} from '../store/types.js';

// Kept apart from certificates.ts so the CLI can use them without loading the certificate parser.

/** A certificate upload: a PEM chain with its key, or a PKCS#12 file (base64) with its password. */
export type CertificateBody =
  | { name: string; certPem: string; keyPem: string; keyPassphrase?: string; enabled?: boolean }
  | { name: string; pfx: string; password: string; enabled?: boolean };

/** What the API and the CLI show of a stored certificate: never the key. */
export function publicCertificate(c: ProvisioningCertificateInfo) {
  const validity = leafValidity(c.certPem);
  return {
    id: c.id,
    name: c.name,
    certPem: c.certPem,
    rootHashes: c.rootHashes,
    enabled: c.enabled,
    createdAt: c.createdAt,
    ...(validity
      ? { notBefore: validity.notBefore.toISOString(), notAfter: validity.notAfter.toISOString() }
      : {}),
  };
}

/** What the API and the CLI show of one device: never a secret's value. */
export interface DeviceDetail extends DeviceRecord {
  computer?: ImportedComputer;
  latestJob?: Job;
  secrets: Omit<DeviceSecret, 'value' | 'uuid'>[];
}

/** One device with its import data, latest job and the secrets on record; undefined if unknown. */
export async function deviceDetail(store: SiteStore, uuid: string): Promise<DeviceDetail | undefined> {
  const device = await store.getDevice(uuid);
  if (!device) return undefined;
  const [computer, jobs, secrets] = await Promise.all([
    store.getComputer(uuid),
    store.listJobs({ uuid, limit: 1 }),
    store.listSecrets(uuid, { states: ['pending', 'current', 'retired'] }),
  ]);
  return {
    ...device,
    ...(computer ? { computer } : {}),
    ...(jobs[0] ? { latestJob: jobs[0] } : {}),
    secrets: secrets.map(({ value: _v, uuid: _u, ...s }) => s),
  };
}
