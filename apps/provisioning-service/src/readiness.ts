/**
 * What keeps a site from provisioning anything, checked when the service starts: a newcomer's
 * first `oobkit serve` should say why every hello is about to be dropped, not leave it to the
 * event log.
 */
import { X509Certificate } from 'node:crypto';
import type { SiteStore } from './store/types.js';

const DAY_MS = 86_400_000;
/** A provisioning certificate this close to its end gets a warning. */
const EXPIRY_WARNING_DAYS = 30;

/** Plain-language warnings (empty when the site can provision), each naming the fix. */
export async function readinessWarnings(store: SiteStore, now: Date = new Date()): Promise<string[]> {
  const warnings: string[] = [];
  const [certs, credentials, computers] = await Promise.all([
    store.listProvisioningCertificateInfo(),
    store.listCredentials(),
    // One row says whether there are any: a site may hold tens of thousands.
    store.listComputers({ limit: 1 }),
  ]);
  const enabled = certs.filter((c) => c.enabled);
  if (enabled.length === 0) {
    warnings.push(
      'no enabled provisioning certificate: every hello will be dropped (no root hash can match); add one with `oobkit certs add`',
    );
  }
  for (const c of enabled) {
    const leaf = leafValidity(c.certPem);
    if (!leaf) continue;
    if (leaf.notAfter.getTime() <= now.getTime()) {
      warnings.push(
        `provisioning certificate "${c.name}" expired on ${leaf.notAfter.toISOString().slice(0, 10)}: devices will refuse it; add a renewed one with \`oobkit certs add\`, then \`oobkit certs disable ${c.id}\``,
      );
    } else if (leaf.notAfter.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
      const days = Math.ceil((leaf.notAfter.getTime() - now.getTime()) / DAY_MS);
      warnings.push(
        `provisioning certificate "${c.name}" expires in ${days} day(s), on ${leaf.notAfter.toISOString().slice(0, 10)}: renew it (\`oobkit certs add\`, then \`oobkit certs disable ${c.id}\`)`,
      );
    } else if (leaf.notBefore.getTime() > now.getTime()) {
      warnings.push(
        `provisioning certificate "${c.name}" is not valid before ${leaf.notBefore.toISOString().slice(0, 10)}: devices will refuse it until then`,
      );
    }
  }
  if (credentials.length === 0) {
    warnings.push(
      'no AMT credentials: a device that was never provisioned cannot be logged in to; add the admin (MEBx) password your devices have with `oobkit credentials add`',
    );
  }
  if (computers.length === 0) {
    warnings.push(
      'no computers imported: every hello will be dropped as an unknown UUID; import them with `oobkit import`',
    );
  }
  return warnings;
}

/** The validity of the first (leaf) certificate of a PEM chain; undefined if it does not parse. */
export function leafValidity(certPem: string): { notBefore: Date; notAfter: Date } | undefined {
  try {
    const leaf = new X509Certificate(certPem);
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) return undefined;
    return { notBefore, notAfter };
  } catch {
    return undefined;
  }
}
