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

/**
 * What stands in the way, in plain language, each naming the fix: `blockers` keep the site from
 * provisioning anything (no usable enabled certificate, no credential, no computer); `warnings`
 * need attention but do not stop it (a certificate expiring within 30 days, or an expired or
 * not-yet-valid one beside a usable one). The site is ready when there is no blocker.
 */
export interface Readiness {
  ready: boolean;
  blockers: string[];
  warnings: string[];
}

export async function readinessReport(store: SiteStore, now: Date = new Date()): Promise<Readiness> {
  const blockers: string[] = [];
  const warnings: string[] = [];
  const [certs, credentials, computers] = await Promise.all([
    store.listProvisioningCertificateInfo(),
    store.listCredentials(),
    // One row says whether there are any: a site may hold tens of thousands.
    store.listComputers({ limit: 1 }),
  ]);
  const enabled = certs.filter((c) => c.enabled);
  if (enabled.length === 0) {
    blockers.push(
      'no enabled provisioning certificate: every hello will be dropped (no root hash can match); add one with `oobkit certs add`',
    );
  }
  // Unusable now: expired, or not valid yet. They block only when no enabled one is usable.
  const unusable: string[] = [];
  let usable = 0;
  for (const c of enabled) {
    const leaf = leafValidity(c.certPem);
    if (!leaf) {
      usable++;
      continue;
    }
    if (leaf.notAfter.getTime() <= now.getTime()) {
      unusable.push(
        `provisioning certificate "${c.name}" expired on ${leaf.notAfter.toISOString().slice(0, 10)}: devices will refuse it; add a renewed one with \`oobkit certs add\`, then \`oobkit certs disable ${c.id}\``,
      );
    } else if (leaf.notBefore.getTime() > now.getTime()) {
      unusable.push(
        `provisioning certificate "${c.name}" is not valid before ${leaf.notBefore.toISOString().slice(0, 10)}: devices will refuse it until then`,
      );
    } else {
      usable++;
      if (leaf.notAfter.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
        const days = Math.ceil((leaf.notAfter.getTime() - now.getTime()) / DAY_MS);
        warnings.push(
          `provisioning certificate "${c.name}" expires in ${days} day(s), on ${leaf.notAfter.toISOString().slice(0, 10)}: renew it (\`oobkit certs add\`, then \`oobkit certs disable ${c.id}\`)`,
        );
      }
    }
  }
  (usable === 0 ? blockers : warnings).push(...unusable);
  if (credentials.length === 0) {
    blockers.push(
      'no AMT credentials: a device that was never provisioned cannot be logged in to; add the admin (MEBx) password your devices have with `oobkit credentials add`',
    );
  }
  if (computers.length === 0) {
    blockers.push(
      'no computers imported: every hello will be dropped as an unknown UUID; import them with `oobkit import`',
    );
  }
  return { ready: blockers.length === 0, blockers, warnings };
}

/** Every blocker, then every warning, of `readinessReport` (empty when there is nothing to say). */
export async function readinessWarnings(store: SiteStore, now: Date = new Date()): Promise<string[]> {
  const r = await readinessReport(store, now);
  return [...r.blockers, ...r.warnings];
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
