/**
 * The site's audit trail of administration: every change an administrator makes to what the
 * service provisions with (computers, credentials, settings, provisioning certificates) leaves
 * one event, whether it came through the admin API or the CLI on the data folder. The event says
 * what changed and through which door, never a secret (a credential's label, not its password).
 */
import type { AmtCredential, NewSiteEvent, SiteStore, StoredProvisioningCertificate } from './store/types.js';

/** Where an administrative change came in. */
export type AdminChannel = 'api' | 'cli';

/** An audit event before its level and channel are added. */
type AuditEvent = Pick<NewSiteEvent, 'type' | 'message' | 'uuid'> & { data?: Record<string, unknown> };

type Audited = {
  [K in keyof SiteStore]?: (
    args: Parameters<SiteStore[K]>,
    result: Awaited<ReturnType<SiteStore[K]>>,
  ) => AuditEvent | undefined;
};

/** What each audited call records; `undefined` when it changed nothing (deleting what is not there). */
const AUDITED: Audited = {
  importComputers: (_args, r) => ({
    type: 'computers.imported',
    message: `computers imported: ${r.created} new, ${r.updated} updated`,
    data: { created: r.created, updated: r.updated },
  }),
  deleteComputer: ([uuid], deleted) =>
    deleted ? { type: 'computer.deleted', uuid, message: 'imported computer removed' } : undefined,
  addCredential: (_args, c: AmtCredential) => ({
    type: 'credential.added',
    message: `AMT credential #${c.id} "${c.label}" added (user ${c.username}, priority ${c.priority})`,
    data: { id: c.id, label: c.label, username: c.username, priority: c.priority },
  }),
  deleteCredential: ([id], deleted) =>
    deleted
      ? { type: 'credential.deleted', message: `AMT credential #${id} deleted`, data: { id } }
      : undefined,
  putSettings: () => ({ type: 'settings.changed', message: 'provisioning settings replaced' }),
  addProvisioningCertificate: (_args, c: StoredProvisioningCertificate) => ({
    type: 'certificate.added',
    message: `provisioning certificate #${c.id} "${c.name}" added${c.enabled ? '' : ' (disabled)'}`,
    data: { id: c.id, name: c.name, enabled: c.enabled, rootSha256: c.rootHashes.sha256 },
  }),
  setProvisioningCertificateEnabled: ([id, enabled], changed) =>
    changed
      ? {
          type: enabled ? 'certificate.enabled' : 'certificate.disabled',
          message: `provisioning certificate #${id} ${enabled ? 'enabled' : 'disabled'}`,
          data: { id },
        }
      : undefined,
  deleteProvisioningCertificate: ([id], deleted) =>
    deleted
      ? { type: 'certificate.deleted', message: `provisioning certificate #${id} deleted`, data: { id } }
      : undefined,
};

/**
 * `store` with its administrative writes audited: after each one succeeds, an info event (data
 * `by`: the channel, as `secret.revealed` has it) is appended. Everything else passes straight
 * through. Recording is best effort: the change is made, and a failed event write does not undo
 * it or fail the call.
 */
export function withAdminAudit(store: SiteStore, by: AdminChannel): SiteStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      const describe = AUDITED[prop as keyof Audited] as
        | ((args: unknown[], result: unknown) => AuditEvent | undefined)
        | undefined;
      if (!describe || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        const e = describe(args, result);
        if (e) {
          await target.appendEvent({ level: 'info', ...e, data: { ...e.data, by } }).catch(() => undefined);
        }
        return result;
      };
    },
  });
}

/** The audit event of a secret read in clear (`oobkit settings show --reveal`). */
export function settingsRevealedEvent(by: AdminChannel): NewSiteEvent {
  return {
    level: 'info',
    type: 'secret.revealed',
    message: 'the provisioning settings were shown with their secrets in clear',
    data: { what: 'settings', by },
  };
}
