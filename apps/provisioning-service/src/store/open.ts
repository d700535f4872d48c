import type { ServiceConfig } from '../config.js';
import { fileKeyProvider, type SecretKeyProvider } from '../secrets/index.js';
import { maskDatabaseUrl } from './location.js';
import { openSqliteStore } from './sqlite.js';
import type { SiteStore } from './types.js';

/**
 * Opens the site store a configuration names: PostgreSQL when `databaseUrl` is set (the driver
 * is loaded only then), else the SQLite file at `databasePath`. Secrets are sealed under the key
 * file's key unless another provider is given; on PostgreSQL every instance needs the same key
 * (copy the key file to each host, or plug in a `SecretKeyProvider` of your own).
 */
export async function openConfiguredStore(
  config: Pick<ServiceConfig, 'databasePath' | 'databaseUrl' | 'keyFile'>,
  keyProvider: SecretKeyProvider = fileKeyProvider(config.keyFile),
): Promise<SiteStore> {
  if (config.databaseUrl !== undefined) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore({ connectionString: config.databaseUrl, keyProvider });
  }
  return openSqliteStore({ path: config.databasePath, keyProvider });
}

/** Where the store is, for messages: the SQLite path, or the PostgreSQL URL without its password. */
export function describeStoreLocation(config: Pick<ServiceConfig, 'databasePath' | 'databaseUrl'>): string {
  return config.databaseUrl === undefined ? config.databasePath : maskDatabaseUrl(config.databaseUrl);
}
