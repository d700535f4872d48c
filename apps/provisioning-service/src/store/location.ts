import { isSecretKey } from '../secrets/redact.js';

/**
 * A database URL fit for messages and logs: its password, if any, replaced by `***`, and so is
 * every query parameter with a secret-like name (`?password=`, `sslpassword=`: pg honours them).
 */
export function maskDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (isSecretKey(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'the PostgreSQL database (databaseUrl)';
  }
}
