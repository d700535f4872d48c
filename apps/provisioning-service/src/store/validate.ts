import { StoreInputError } from './errors.js';
import type { AmtCredential, DeviceUuid, ImportedComputer, StoredProvisioningCertificate } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function isDeviceUuid(v: string): boolean {
  return UUID.test(v.toLowerCase());
}

/** Lower-cases a UUID (the canonical form `@oobkit/hello` decodes) or throws `StoreInputError`. */
export function normalizeUuid(v: unknown, field = 'uuid', index?: number): DeviceUuid {
  // Most UUIDs arrive canonical already (the flow passes the store's own back): one test, no copy.
  if (typeof v === 'string' && UUID.test(v)) return v;
  if (typeof v !== 'string' || !isDeviceUuid(v)) {
    throw new StoreInputError(`${field} must be a UUID like 8-4-4-4-12 hex digits`, field, index);
  }
  return v.toLowerCase();
}

export function isHostName(v: string): boolean {
  return DNS_LABEL.test(v);
}

export function isDomainName(v: string): boolean {
  return v.length <= 253 && v.split('.').every((l) => DNS_LABEL.test(l));
}

export function validateComputer(input: unknown, index?: number): Omit<ImportedComputer, 'importedAt'> {
  const at = index === undefined ? 'computer' : `computers[${index}]`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new StoreInputError(`${at} must be an object`, at, index);
  }
  const c = input as Record<string, unknown>;
  const uuid = normalizeUuid(c.uuid, `${at}.uuid`, index);
  if (typeof c.hostName !== 'string' || !isHostName(c.hostName)) {
    throw new StoreInputError(
      `${at}.hostName must be one DNS label (1–63 letters, digits, hyphens)`,
      `${at}.hostName`,
      index,
    );
  }
  if (typeof c.domainName !== 'string' || !isDomainName(c.domainName)) {
    throw new StoreInputError(`${at}.domainName must be a DNS domain name`, `${at}.domainName`, index);
  }
  const out: Omit<ImportedComputer, 'importedAt'> = {
    uuid,
    hostName: c.hostName,
    domainName: c.domainName,
    source:
      c.source === undefined ? 'import' : (oneOfSource(c.source, at, index) as ImportedComputer['source']),
  };
  if (c.ou !== undefined && c.ou !== '') {
    if (typeof c.ou !== 'string' || c.ou.length > 1024 || hasControl(c.ou)) {
      throw new StoreInputError(`${at}.ou must be text without control characters`, `${at}.ou`, index);
    }
    out.ou = c.ou;
  }
  return out;
}

function oneOfSource(v: unknown, at: string, index?: number): string {
  if (v !== 'import' && v !== 'registration') {
    throw new StoreInputError(`${at}.source must be import or registration`, `${at}.source`, index);
  }
  return v;
}

export function validateCredential(input: Omit<AmtCredential, 'id'>): Omit<AmtCredential, 'id'> {
  text(input.label, 'label', 1, 100);
  if (typeof input.username !== 'string' || !/^[\x21-\x7e]{1,16}$/.test(input.username)) {
    throw new StoreInputError('username must be 1–16 printable ASCII characters', 'username');
  }
  // Factory passwords (`admin`) do not meet the policy, so only the length AMT accepts is checked.
  if (typeof input.password !== 'string' || input.password.length < 1 || input.password.length > 32) {
    throw new StoreInputError('password must be 1–32 characters', 'password');
  }
  if (!Number.isSafeInteger(input.priority))
    throw new StoreInputError('priority must be an integer', 'priority');
  return { label: input.label, username: input.username, password: input.password, priority: input.priority };
}

const HEX = { sha1: 40, sha256: 64, sha384: 96 } as const;

export function validateCertificate(
  input: Omit<StoredProvisioningCertificate, 'id' | 'createdAt'>,
): Omit<StoredProvisioningCertificate, 'id' | 'createdAt'> {
  text(input.name, 'name', 1, 200);
  if (typeof input.certPem !== 'string' || !input.certPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new StoreInputError('certPem must hold PEM certificates', 'certPem');
  }
  if (typeof input.keyPem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input.keyPem)) {
    throw new StoreInputError('keyPem must hold a PEM private key', 'keyPem');
  }
  if (typeof input.rootHashes !== 'object' || input.rootHashes === null) {
    throw new StoreInputError('rootHashes must be an object', 'rootHashes');
  }
  const rootHashes = { sha1: '', sha256: '', sha384: '' };
  for (const alg of ['sha1', 'sha256', 'sha384'] as const) {
    const h = input.rootHashes[alg];
    if (typeof h !== 'string' || !new RegExp(`^[0-9a-fA-F]{${HEX[alg]}}$`).test(h)) {
      throw new StoreInputError(`rootHashes.${alg} must be ${HEX[alg]} hex digits`, `rootHashes.${alg}`);
    }
    rootHashes[alg] = h.toLowerCase();
  }
  if (typeof input.enabled !== 'boolean')
    throw new StoreInputError('enabled must be true or false', 'enabled');
  return {
    name: input.name,
    certPem: input.certPem,
    keyPem: input.keyPem,
    rootHashes,
    enabled: input.enabled,
  };
}

export function text(v: unknown, field: string, min: number, max: number): string {
  if (typeof v !== 'string' || v.length < min || v.length > max || hasControl(v)) {
    throw new StoreInputError(`${field} must be ${min}–${max} characters of text`, field);
  }
  return v;
}
