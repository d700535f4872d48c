/** A database URL fit for messages and logs: its password, if any, replaced by `***`. */
export function maskDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the PostgreSQL database (databaseUrl)';
  }
}
