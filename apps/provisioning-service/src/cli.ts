#!/usr/bin/env node
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type CertificateBody, type DeviceDetail, deviceDetail, publicCertificate } from './api/views.js';
import { settingsRevealedEvent, withAdminAudit } from './audit.js';
import {
  API_TOKEN_FILE,
  API_TOKEN_MIN_LENGTH,
  CONFIG_LIMITS,
  type DeepPartial,
  LOG_LEVELS,
  type LogLevelSetting,
  logLevelFrom,
  resolveApiToken,
  resolveConfig,
  type ServiceConfig,
} from './config.js';
import { parseComputersCsv } from './csv.js';
import { DEMO_LIMITS } from './demo-limits.js';
import {
  type JobRequestOutcome,
  jobConflictMessage,
  requestProvisioning,
  requestUnprovision,
} from './jobs.js';
import { backupSiteDatabase, pruneEventLog, rotateSecretKey } from './maintenance.js';
import { hostPort } from './net.js';
import { type Readiness, readinessReport, readinessWarnings } from './readiness.js';
import {
  ApiError,
  ConfigError,
  ServiceError,
  type ServiceErrorCode,
  StoreInputError,
} from './store/errors.js';
import { describeStoreLocation, openConfiguredStore } from './store/open.js';
import { redactSettings, restoreRedacted, SETTINGS_KEYS, validateSettings } from './store/settings.js';
import {
  DEVICE_STATUSES,
  type DeviceRecord,
  type DeviceSecret,
  type DeviceStatus,
  type ImportedComputer,
  JOB_STATES,
  type Job,
  type JobState,
  type ProvisioningSettings,
  type SecretKind,
  type SiteCounts,
  type SiteEvent,
  type SiteStore,
} from './store/types.js';
import { MAX_LIST_LIMIT, validateComputer } from './store/validate.js';
import { oobkitVersion } from './version.js';

/** Exit codes: 0 done, 1 the operation failed, 2 the command line was wrong. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

/**
 * What resolveConfig gets for a token where its own lookup must not run: the data folder (no
 * token used), and a client before its read-only lookup.
 */
const DIRECT_MODE_TOKEN = 'unused-on-the-data-folder';

interface PublicCredential {
  id: number;
  label: string;
  username: string;
  priority: number;
}

type PublicCertificate = ReturnType<typeof publicCertificate>;

interface EventFilter {
  uuid?: string;
  jobId?: number;
  type?: string;
  afterId?: number;
  limit?: number;
}

/** What the commands need, from the data dir's store directly or from a running service's API. */
interface Backend {
  importComputers(text: string, kind: 'csv' | 'json'): Promise<{ created: number; updated: number }>;
  listDevices(status?: DeviceStatus): Promise<DeviceRecord[]>;
  countByState(): Promise<SiteCounts>;
  listEvents(filter: EventFilter): Promise<SiteEvent[]>;
  listJobs(filter: JobFilter): Promise<Job[]>;
  /** What keeps the site from provisioning; empty when ready. */
  readiness(): Promise<Readiness>;
  /** One device with its import data, latest job and secrets on record (never their values). */
  getDevice(uuid: string): Promise<DeviceDetail>;
  /**
   * The device's secrets of one kind, values included, newest first: the current one, and the
   * pending ones too with `pending`. Data folder only; each call is recorded as an event.
   */
  revealSecrets(uuid: string, kind: SecretKind, pending: boolean): Promise<DeviceSecret[]>;
  /** Queues provisioning (`manual` or `retry`); a job already there for the device is returned. */
  provision(uuid: string, reason: 'manual' | 'retry'): Promise<{ job: Job; created: boolean }>;
  /** Queues unprovisioning of a known device. */
  unprovision(uuid: string): Promise<{ job: Job; created: boolean }>;
  addCredential(c: {
    label: string;
    username: string;
    password: string;
    priority: number;
  }): Promise<PublicCredential>;
  listCredentials(): Promise<PublicCredential[]>;
  deleteCredential(id: number): Promise<boolean>;
  /** Secrets read `***` unless `reveal` (direct mode only). */
  getSettings(reveal?: boolean): Promise<ProvisioningSettings>;
  /** `***` secrets keep their stored value; returns the stored settings redacted. */
  putSettings(doc: unknown): Promise<ProvisioningSettings>;
  addCertificate(body: CertificateBody): Promise<PublicCertificate>;
  listCertificates(): Promise<PublicCertificate[]>;
  /** The certificate after the change; undefined if there is no such id. */
  setCertificateEnabled(id: number, enabled: boolean): Promise<PublicCertificate | undefined>;
  deleteCertificate(id: number): Promise<boolean>;
  listComputers(): Promise<ImportedComputer[]>;
  deleteComputer(uuid: string): Promise<boolean>;
  /**
   * The error for a record this backend did not find (`what`: "credential 7"), worded as the
   * backend words it: `STORE_NOT_FOUND` on the data folder, `API_NOT_FOUND (HTTP 404)` over the API.
   */
  notFound(what: string): ServiceError;
  close(): Promise<void>;
}

interface JobFilter {
  uuid?: string;
  state?: JobState;
  limit?: number;
}

interface GlobalOptions {
  dataDir?: string;
  api?: string;
  apiCa?: string;
  token?: string;
  logLevel?: string;
}

const program = new Command('oobkit')
  .description('oobkit reference provisioning server: provision Intel AMT machines out of band')
  .option(
    '--data-dir <dir>',
    'data folder holding the database, the key file and the API token (env OOBKIT_DATA_DIR; default .oobkit)',
  )
  .option('--api <url>', "talk to a running service's admin API instead of the data folder", apiUrlOption)
  .option(
    '--api-ca <file>',
    "PEM certificate(s) to trust for an https --api (the service's own, when self-signed; env OOBKIT_API_CA)",
  )
  .option('--token <token>', 'admin API token (default OOBKIT_API_TOKEN or <data-dir>/api-token)')
  .addOption(
    new Option('--log-level <level>', 'debug, info, warn, error or silent (env OOBKIT_LOG_LEVEL)').choices(
      LOG_LEVELS,
    ),
  )
  .version(oobkitVersion(), '-V, --version', "print oobkit's version")
  .showHelpAfterError()
  .exitOverride();

program
  .command('serve')
  .description('run the provisioning service: hello listener, workers and admin API')
  .option('--hello-host <host>', 'address for AMT hellos (env OOBKIT_HELLO_HOST; default 0.0.0.0)')
  .option(
    '--hello-port <port>',
    'TCP port for AMT hellos (env OOBKIT_HELLO_PORT; default 9971)',
    intIn(CONFIG_LIMITS.port.min, CONFIG_LIMITS.port.max),
  )
  .option('--api-host <host>', 'admin API address (env OOBKIT_API_HOST; default 127.0.0.1)')
  .option(
    '--api-port <port>',
    'admin API port (env OOBKIT_API_PORT; default 8080)',
    intIn(CONFIG_LIMITS.port.min, CONFIG_LIMITS.port.max),
  )
  .option(
    '--workers <n>',
    'jobs run at once (env OOBKIT_WORKERS)',
    intIn(CONFIG_LIMITS.workers.min, CONFIG_LIMITS.workers.max),
  )
  .option('--instance-id <id>', 'this instance as a lease owner (env OOBKIT_INSTANCE_ID)')
  .action(
    async (
      o: {
        helloHost?: string;
        helloPort?: number;
        apiHost?: string;
        apiPort?: number;
        workers?: number;
        instanceId?: string;
      },
      cmd: Command,
    ) => {
      const overrides: DeepPartial<ServiceConfig> = {
        hello: {
          ...(o.helloHost ? { host: o.helloHost } : {}),
          ...(o.helloPort !== undefined ? { port: o.helloPort } : {}),
        },
        api: {
          ...(o.apiHost ? { host: o.apiHost } : {}),
          ...(o.apiPort !== undefined ? { port: o.apiPort } : {}),
        },
        ...(o.workers !== undefined ? { workers: o.workers } : {}),
        ...(o.instanceId ? { instanceId: o.instanceId } : {}),
      };
      const config = configFor(cmd, 'serve', overrides);
      const { startService } = await import('./service.js');
      const service = await startService(config);
      const api = service.apiUrl ? `, admin API on ${service.apiUrl}` : '';
      process.stderr.write(
        `oobkit: serving — hellos on ${hostPort(service.helloAddress)}${api}; site store ${describeStoreLocation(config)}; API token in ${config.dataDir}/api-token unless OOBKIT_API_TOKEN is set\n`,
      );
      const warnings = [
        ...(service.apiWarning ? [service.apiWarning] : []),
        ...(await readinessWarnings(service.store)),
      ];
      for (const w of warnings) process.stderr.write(`oobkit: warning: ${w}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await service.close();
    },
  );

program
  .command('check')
  .description('say whether the site can provision: certificates, credentials, computers (exit 1 if not)')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      const r = await b.readiness();
      // Exit 1 only for what blocks provisioning; a warning (a certificate expiring within 30
      // days) is printed, and the site is still ready.
      print(o.json, r, () =>
        [
          ...r.blockers.map((w) => `not ready: ${w}`),
          ...r.warnings.map((w) => `warning: ${w}`),
          ...(r.ready ? ['ready: the site can provision'] : []),
        ].join('\n'),
      );
      if (!r.ready) process.exitCode = EXIT_FAILED;
    });
  });

program
  .command('import')
  .description(
    'import computers for out-of-band management from a CSV (uuid,hostName,domainName,ou) or JSON file; - reads stdin',
  )
  .argument('<file>', 'file.csv, file.json or -')
  .option('--format <format>', 'csv or json (default: from the file name, else from the content)')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, o: { format?: string; json?: boolean }, cmd: Command) => {
    const text = file === '-' ? await readStdin() : await readText(file);
    const kind = importKind(file, text, o.format);
    await withBackend(cmd, 'write', async (b) => {
      const r = await b.importComputers(text, kind);
      print(
        o.json,
        r,
        () =>
          `imported ${r.created + r.updated} computer${r.created + r.updated === 1 ? '' : 's'} (${r.created} new, ${r.updated} updated)`,
      );
    });
  });

program
  .command('devices')
  .description('list devices and their provisioning status')
  .addOption(new Option('--status <status>', 'only devices in this status').choices(DEVICE_STATUSES))
  .option('--summary', 'only how many devices are in each status')
  .option('--json', 'print JSON')
  .action(async (o: { status?: DeviceStatus; summary?: boolean; json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      if (o.summary) {
        // Counted by the store (an index), not by listing every device.
        const { devices: counts } = await b.countByState();
        const byStatus: Partial<Record<DeviceStatus, number>> = {};
        for (const st of o.status ? [o.status] : DEVICE_STATUSES)
          if (counts[st] > 0) byStatus[st] = counts[st];
        const total = Object.values(byStatus).reduce((a, n) => a + n, 0);
        print(o.json, { total, byStatus }, () => {
          const parts = DEVICE_STATUSES.filter((st) => byStatus[st]).map((st) => `${st} ${byStatus[st]}`);
          return `${total} device(s)${parts.length ? `: ${parts.join(', ')}` : ''}`;
        });
        return;
      }
      const devices = await b.listDevices(o.status);
      print(o.json, devices, () =>
        table(devices, [
          ['uuid', 'UUID'],
          ['status', 'STATUS'],
          ['address', 'ADDRESS'],
          ['amtVersion', 'AMT'],
          ['updatedAt', 'UPDATED'],
          [(d) => d.lastError?.code ?? '', 'ERROR'],
        ]),
      );
    });
  });

program
  .command('events')
  .description('show the event log (the newest, oldest first)')
  .option('--uuid <uuid>', 'only this device')
  .option('--job <id>', 'only this job', intIn(0))
  .option('--type <type>', 'only this event type')
  .option('--after <id>', 'only events after this id', intIn(0))
  .option('--limit <n>', 'at most this many (default 100)', intIn(1, MAX_LIST_LIMIT))
  .option('--follow', 'keep printing new events as they are stored, until interrupted (Ctrl-C)')
  .option(
    '--interval <ms>',
    'with --follow: how often to look for new events (at least 50; default 1000)',
    intIn(50),
  )
  .option('--json', 'print JSON (with --follow: one event a line)')
  .action(
    async (
      o: {
        uuid?: string;
        job?: number;
        type?: string;
        after?: number;
        limit?: number;
        follow?: boolean;
        interval?: number;
        json?: boolean;
      },
      cmd: Command,
    ) => {
      const filter: EventFilter = {
        ...(o.uuid ? { uuid: o.uuid } : {}),
        ...(o.job !== undefined ? { jobId: o.job } : {}),
        ...(o.type ? { type: o.type } : {}),
        ...(o.after !== undefined ? { afterId: o.after } : {}),
        ...(o.limit !== undefined ? { limit: o.limit } : {}),
      };
      if (o.interval !== undefined && !o.follow) throw new UsageError('--interval goes with --follow');
      await withBackend(cmd, 'read', async (b) => {
        if (o.follow) {
          await followEvents(b, filter, o.interval ?? 1000, o.json === true);
          return;
        }
        const events = await b.listEvents(filter);
        print(o.json, events, () =>
          table(events, [
            ['id', 'ID'],
            ['at', 'AT'],
            ['level', 'LEVEL'],
            ['type', 'TYPE'],
            ['uuid', 'UUID'],
            ['message', 'MESSAGE'],
          ]),
        );
      });
    },
  );

program
  .command('device')
  .description('one device: status, import data, latest job and which secrets are on record')
  .argument('<uuid>', 'the device')
  .option('--json', 'print JSON')
  .action(async (uuid: string, o: { json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      const d = await b.getDevice(uuid);
      print(o.json, d, () => {
        const job = d.latestJob;
        const step = job && shownStep(job);
        const lines: Array<[string, string | undefined]> = [
          ['uuid', d.uuid],
          ['status', d.status],
          ['name', d.computer ? `${d.computer.hostName}.${d.computer.domainName}` : undefined],
          ['address', d.address],
          ['AMT', d.amtVersion],
          ['updated', d.updatedAt],
          ['error', d.lastError ? `${d.lastError.code}: ${d.lastError.message}` : undefined],
          [
            'latest job',
            job ? `#${job.id} ${job.reason} ${job.state}${step ? ` at ${step}` : ''}` : undefined,
          ],
          ['secrets', d.secrets.map((x) => `${x.kind} #${x.id} ${x.state}`).join(', ') || '(none)'],
        ];
        return lines
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`)
          .join('\n');
      });
    });
  });

program
  .command('secret')
  .description(
    "print a device's current password of one kind, for a management console (data folder only; recorded as an event)",
  )
  .argument('<uuid>', 'the device')
  .addOption(
    new Option('--kind <kind>', 'which secret').choices(['admin', 'mebx', 'directory']).default('admin'),
  )
  .option('--pending', 'also the pending ones (written by a job that did not finish), newest first')
  .option('--json', 'print JSON (with ids and states)')
  .action(async (uuid: string, o: { kind: SecretKind; pending?: boolean; json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      const secrets = await b.revealSecrets(uuid, o.kind, o.pending === true);
      if (secrets.length === 0) {
        throw new ServiceError(
          'STORE_NOT_FOUND',
          `no ${o.pending ? 'current or pending' : 'current'} ${o.kind} secret for ${uuid}` +
            (o.pending ? '' : ' (try --pending after a job that did not finish)'),
        );
      }
      const shown = secrets.map((x) => ({ id: x.id, kind: x.kind, state: x.state, value: x.value }));
      // One secret: the value alone, for a script or a console to take. Several: which is which.
      print(o.json, shown, () =>
        shown.length === 1
          ? (shown[0] as { value: string }).value
          : shown.map((x) => `${x.state} #${x.id}: ${x.value}`).join('\n'),
      );
    });
  });

/** The data folder's config for commands that never go over the API. */
function dataFolderConfig(cmd: Command, what: string): ServiceConfig {
  if (cmd.optsWithGlobals<GlobalOptions>().api !== undefined) {
    throw new UsageError(`${what} works on the data folder only, never over the API`);
  }
  return configFor(cmd, 'none');
}

/** Commands built on the SQLite file refuse a PostgreSQL site, saying what to use instead. */
function sqliteOnly(config: ServiceConfig): ServiceConfig {
  if (config.databaseUrl === undefined) return config;
  throw new UsageError(
    'backup copies the SQLite file; a PostgreSQL site store (OOBKIT_DATABASE_URL) is backed up with pg_dump (keep the key file apart, as for SQLite)',
  );
}

program
  .command('prune-events')
  .description(
    'delete the events older than a number of days (data folder only; a running service also does it hourly, see events.retentionDays)',
  )
  .requiredOption('--older-than <days>', 'age in days (whole number, 1 or more)', intIn(1))
  .option('--json', 'print the result as JSON')
  .action(async (o: { olderThan: number; json?: boolean }, cmd: Command) => {
    const store = await openDataFolderStore(dataFolderConfig(cmd, 'prune-events'), 'read');
    try {
      const { removed, before } = await pruneEventLog(store, o.olderThan, { by: 'cli' });
      print(o.json, { removed, before }, () => `deleted ${removed} events from before ${before}`);
    } finally {
      await store.close();
    }
  });

program
  .command('rotate-key')
  .description(
    'replace the site secret key: every stored secret is sealed again under a new key (not over the API; running services follow)',
  )
  .option(
    '--keep-old-key <file>',
    'also write the replaced key to this new file (database backups taken before now need it)',
  )
  .option(
    '--stage',
    'step 1 of 2, for instances on several hosts (PostgreSQL): add a new key in front of the old one; copy the key file to every host, then --finish',
  )
  .option(
    '--finish',
    'step 2 of 2: seal every record under the staged key and drop the old one from this key file',
  )
  .option('--json', 'print the result as JSON')
  .action(
    async (o: { keepOldKey?: string; stage?: boolean; finish?: boolean; json?: boolean }, cmd: Command) => {
      if (o.stage && o.finish) throw new UsageError('--stage and --finish are two separate steps: give one');
      const config = dataFolderConfig(cmd, 'rotate-key');
      const phase = o.stage ? 'stage' : o.finish ? 'finish' : 'all';
      if (phase === 'all' && config.databaseUrl !== undefined) {
        throw new UsageError(
          'on a PostgreSQL site store every host has its own copy of the key file: rotate in two steps, `oobkit rotate-key --stage`, copy the key file to every host, then `oobkit rotate-key --finish` and copy it again (see docs/operations.md)',
        );
      }
      const r = await rotateSecretKey({
        databasePath: config.databasePath,
        ...(config.databaseUrl !== undefined ? { databaseUrl: config.databaseUrl } : {}),
        keyFile: config.keyFile,
        phase,
        ...(o.keepOldKey !== undefined ? { keepOldKeysIn: o.keepOldKey } : {}),
        ...(o.json ? {} : { progress: (line: string) => process.stderr.write(`${line}\n`) }),
      });
      if (phase === 'stage') {
        print(
          o.json,
          { ...r, phase, keyFile: config.keyFile },
          () =>
            `staged: a new key is in front of the old one in ${config.keyFile}; copy that file to every host's instances, then run \`oobkit rotate-key --finish\``,
        );
        return;
      }
      print(o.json, { ...r, phase, keyFile: config.keyFile }, () =>
        [
          `rotated: ${r.records} secret records sealed under the new key in ${config.keyFile}`,
          r.oldKeysFile
            ? `the old key is in ${r.oldKeysFile}: keep it with the database backups taken before now`
            : 'the old key is gone: database backups taken before now cannot be opened any more (use --keep-old-key next time to keep it)',
          'back up the new key file now; a backup of the database is useless without it',
          ...(phase === 'finish' ? [`copy ${config.keyFile} to every host's instances again`] : []),
        ].join('\n'),
      );
    },
  );

program
  .command('backup')
  .description(
    'write a consistent copy of the site database to a new file, while services run (data folder only; secrets stay sealed: keep the key file too)',
  )
  .argument('<file>', 'the copy to write (must not exist)')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, o: { json?: boolean }, cmd: Command) => {
    const config = sqliteOnly(dataFolderConfig(cmd, 'backup'));
    const r = await backupSiteDatabase({ databasePath: config.databasePath, destination: file });
    print(o.json, { ...r, keyFile: config.keyFile }, () =>
      [
        `backup: ${r.destination} (${r.bytes} bytes, check: ${r.check})`,
        `its secrets open only with the key in ${config.keyFile} as it is now: keep a copy of that file too, stored apart from the backup`,
      ].join('\n'),
    );
    if (r.check !== 'ok') process.exitCode = EXIT_FAILED;
  });

program
  .command('jobs')
  .description('list jobs, newest first')
  .option('--uuid <uuid>', 'only this device')
  .addOption(new Option('--state <state>', 'only jobs in this state').choices(JOB_STATES))
  .option('--limit <n>', 'at most this many (default 100)', intIn(1, MAX_LIST_LIMIT))
  .option('--json', "print JSON (with each job's journal)")
  .action(async (o: JobFilter & { json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      const jobs = await b.listJobs({
        ...(o.uuid ? { uuid: o.uuid } : {}),
        ...(o.state ? { state: o.state } : {}),
        ...(o.limit !== undefined ? { limit: o.limit } : {}),
      });
      print(o.json, jobs, () =>
        table(jobs, [
          ['id', 'ID'],
          ['uuid', 'UUID'],
          ['reason', 'REASON'],
          ['state', 'STATE'],
          [shownStep, 'STEP'],
          ['attempts', 'ATTEMPTS'],
          ['updatedAt', 'UPDATED'],
          [(j) => j.lastError?.code ?? '', 'ERROR'],
        ]),
      );
    });
  });

/** Prints what a job request did; on the data folder, says who will run the job. */
function reportJob(
  cmd: Command,
  o: { json?: boolean },
  r: { job: Job; created: boolean },
  uuid: string,
): void {
  const direct = cmd.optsWithGlobals<GlobalOptions>().api === undefined;
  print(o.json, r, () =>
    r.created
      ? `queued job ${r.job.id} (${r.job.reason}) for ${uuid}` +
        (direct ? '; a service running on this data folder (`oobkit serve`) takes it up' : '')
      : `job ${r.job.id} (${r.job.reason}) is already ${r.job.state} for ${uuid}`,
  );
}

program
  .command('provision')
  .description('queue provisioning of an imported computer now (without waiting for its next hello)')
  .argument('[uuid]', 'the computer')
  .option('--retry', 'mark the job as a retry after a failure')
  .option(
    '--all-failed',
    'retry every device whose last job failed (after an outage: a committed AMT says no more hellos)',
  )
  .option('--json', 'print JSON')
  .action(
    async (
      uuid: string | undefined,
      o: { retry?: boolean; allFailed?: boolean; json?: boolean },
      cmd: Command,
    ) => {
      if ((uuid === undefined) === (o.allFailed !== true))
        throw new UsageError('give a computer uuid or --all-failed (not both)');
      await withBackend(cmd, 'read', async (b) => {
        if (uuid !== undefined) {
          reportJob(cmd, o, await b.provision(uuid, o.retry ? 'retry' : 'manual'), uuid);
          return;
        }
        const results: Array<{ uuid: string; jobId?: number; created?: boolean; error?: string }> = [];
        for (const d of await b.listDevices('failed')) {
          try {
            const r = await b.provision(d.uuid, 'retry');
            results.push({ uuid: d.uuid, jobId: r.job.id, created: r.created });
          } catch (err) {
            // One device's refusal (its computer no longer imported, say) does not stop the rest.
            results.push({ uuid: d.uuid, error: describeError(err, false) });
          }
        }
        const queued = results.filter((r) => r.created).length;
        const existing = results.filter((r) => r.created === false).length;
        const refused = results.filter((r) => r.error !== undefined);
        print(o.json, results, () =>
          [
            `queued ${queued} retr${queued === 1 ? 'y' : 'ies'} of failed devices` +
              (existing > 0 ? `; ${existing} already had a job` : ''),
            ...refused.map((r) => `not queued: ${r.uuid}: ${r.error}`),
          ].join('\n'),
        );
        if (refused.length > 0) process.exitCode = EXIT_FAILED;
      });
    },
  );

program
  .command('unprovision')
  .description('queue unprovisioning of a device (its AMT back to the un-provisioned state)')
  .argument('<uuid>', 'the device')
  .option('--json', 'print JSON')
  .action(async (uuid: string, o: { json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      reportJob(cmd, o, await b.unprovision(uuid), uuid);
    });
  });

const credentials = program.command('credentials').description('AMT provisioning/discovery credentials');
credentials
  .command('add')
  .description('add a credential (tried in priority order, lowest first)')
  .requiredOption('--label <label>', 'a name for it')
  .option('--username <name>', 'AMT digest user', 'admin')
  .option('--password <password>', 'the password (visible to other local users; prefer --password-stdin)')
  .option('--password-stdin', 'read the password from the first line of stdin')
  .option('--priority <n>', 'lower is tried first', intOption, 0)
  .option('--json', 'print JSON')
  .action(
    async (
      o: {
        label: string;
        username: string;
        password?: string;
        passwordStdin?: boolean;
        priority: number;
        json?: boolean;
      },
      cmd: Command,
    ) => {
      const password = await secretOption(o.password, o.passwordStdin, '--password');
      await withBackend(cmd, 'write', async (b) => {
        const c = await b.addCredential({
          label: o.label,
          username: o.username,
          password,
          priority: o.priority,
        });
        print(o.json, c, () => `added credential ${c.id} (${c.label})`);
      });
    },
  );
credentials
  .command('list')
  .description('list credentials (never their passwords)')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      const list = await b.listCredentials();
      print(o.json, list, () =>
        table(list, [
          ['id', 'ID'],
          ['label', 'LABEL'],
          ['username', 'USERNAME'],
          ['priority', 'PRIORITY'],
        ]),
      );
    });
  });
credentials
  .command('delete')
  .description('delete a credential')
  .argument('<id>', 'credential id', intIn(1))
  .action(async (id: number, _o: unknown, cmd: Command) => {
    await withBackend(cmd, 'write', async (b) => {
      if (!(await b.deleteCredential(id))) throw b.notFound(`credential ${id}`);
      process.stdout.write(`deleted credential ${id}\n`);
    });
  });

const settings = program.command('settings').description('provisioning settings');
settings
  .command('show')
  .description('print the settings as JSON (secrets as "***")')
  .option('--reveal', 'show secrets (data folder only, never over the API)')
  .option('--json', 'print JSON (the default for settings)')
  .action(async (o: { reveal?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      process.stdout.write(`${JSON.stringify(await b.getSettings(o.reveal === true), null, 2)}\n`);
    });
  });
settings
  .command('set')
  .description(
    'change one setting (a dotted path and a JSON or text value), or replace them all from a JSON file',
  )
  .argument('[path]', 'e.g. powerBehaviour, features.sol, powerScheme, mebxPassword')
  .argument('[value]', 'JSON (true, 5, [...]) or plain text')
  .option('--file <file>', 'a whole settings document (as `settings show` prints it; "***" keeps a secret)')
  .option(
    '--value-stdin',
    'read the value from the first line of stdin, as text (for a password: it stays out of the process list)',
  )
  .option('--json', 'print the stored settings as JSON')
  .action(
    async (
      path: string | undefined,
      given: string | undefined,
      o: { file?: string; valueStdin?: boolean; json?: boolean },
      cmd: Command,
    ) => {
      if (o.file !== undefined && path !== undefined)
        throw new UsageError('give either --file or a path and a value');
      if (o.valueStdin && given !== undefined)
        throw new UsageError('give the value or --value-stdin, not both');
      if (o.file === undefined && (path === undefined || (given === undefined && !o.valueStdin))) {
        throw new UsageError('give a setting path and a value (or --value-stdin), or --file');
      }
      // From stdin the value is text as it is: a password such as `123456789` stays a string.
      const value =
        o.valueStdin && path !== undefined
          ? await readSecretLine(`${path}: `)
          : given === undefined
            ? undefined
            : parseValue(given);
      const fileDoc = o.file === undefined ? undefined : parseJson(await readText(o.file), o.file);
      await withBackend(cmd, 'write', async (b) => {
        const doc = fileDoc ?? setPath(await b.getSettings(), path as string, value);
        const stored = await b.putSettings(doc);
        print(o.json, stored, () => (path ? `set ${path}` : 'settings replaced'));
      });
    },
  );

const certs = program.command('certs').description('provisioning certificates');
certs
  .command('add')
  .description(
    'add a provisioning certificate chain with its key: --cert and --key (PEM), or --pfx and its password',
  )
  .requiredOption('--name <name>', 'a name for it')
  .option('--cert <file>', 'PEM certificates of the chain (leaf, intermediates, root)')
  .option('--key <file>', 'PEM private key of the leaf')
  .option('--key-passphrase-stdin', 'read the passphrase of an encrypted --key from stdin')
  .option('--pfx <file>', 'PKCS#12 file with chain and key')
  .option(
    '--pfx-password <password>',
    'the PFX password (visible to other local users; prefer --pfx-password-stdin)',
  )
  .option('--pfx-password-stdin', 'read the PFX password from the first line of stdin')
  .option('--disabled', 'store it disabled')
  .option('--json', 'print JSON')
  .action(
    async (
      o: {
        name: string;
        cert?: string;
        key?: string;
        keyPassphraseStdin?: boolean;
        pfx?: string;
        pfxPassword?: string;
        pfxPasswordStdin?: boolean;
        disabled?: boolean;
        json?: boolean;
      },
      cmd: Command,
    ) => {
      let body: CertificateBody;
      const enabled = o.disabled !== true;
      if (o.pfx !== undefined) {
        if (o.cert !== undefined || o.key !== undefined)
          throw new UsageError('give --pfx or --cert/--key, not both');
        const password = await secretOption(o.pfxPassword, o.pfxPasswordStdin, '--pfx-password', true);
        body = { name: o.name, pfx: (await readFile(o.pfx)).toString('base64'), password, enabled };
      } else {
        if (o.cert === undefined || o.key === undefined)
          throw new UsageError('give --cert and --key, or --pfx');
        body = { name: o.name, certPem: await readText(o.cert), keyPem: await readText(o.key), enabled };
        if (o.keyPassphraseStdin)
          body.keyPassphrase = await secretOption(undefined, true, '--key-passphrase-stdin');
      }
      await withBackend(cmd, 'write', async (b) => {
        const c = await b.addCertificate(body);
        print(
          o.json,
          c,
          () => `added provisioning certificate ${c.id} (${c.name}); root SHA-256 ${c.rootHashes.sha256}`,
        );
      });
    },
  );
certs
  .command('list')
  .description('list provisioning certificates (never their keys)')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      const list = await b.listCertificates();
      print(o.json, list, () =>
        table(list, [
          ['id', 'ID'],
          ['name', 'NAME'],
          ['enabled', 'ENABLED'],
          [(c) => c.notAfter?.slice(0, 10) ?? '?', 'EXPIRES'],
          [(c) => c.rootHashes.sha256, 'ROOT SHA-256'],
        ]),
      );
    });
  });
for (const [verb, enabled] of [
  ['enable', true],
  ['disable', false],
] as const) {
  certs
    .command(verb)
    .description(
      enabled
        ? 'use a provisioning certificate again for new jobs'
        : 'stop using a provisioning certificate for new jobs (e.g. the old one after a renewal; a running job keeps its chain)',
    )
    .argument('<id>', 'certificate id (see certs list)', intIn(1))
    .option('--json', 'print JSON')
    .action(async (id: number, o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, 'write', async (b) => {
        const c = await b.setCertificateEnabled(id, enabled);
        if (!c) throw b.notFound(`provisioning certificate ${id}`);
        print(
          o.json,
          c,
          () => `provisioning certificate ${c.id} (${c.name}) ${enabled ? 'enabled' : 'disabled'}`,
        );
      });
    });
}
certs
  .command('delete')
  .description('delete a provisioning certificate and its key (disable it instead to keep it on record)')
  .argument('<id>', 'certificate id (see certs list)', intIn(1))
  .action(async (id: number, _o: unknown, cmd: Command) => {
    await withBackend(cmd, 'write', async (b) => {
      if (!(await b.deleteCertificate(id))) throw b.notFound(`provisioning certificate ${id}`);
      process.stdout.write(`deleted provisioning certificate ${id}\n`);
    });
  });

const computers = program
  .command('computers')
  .description('computers imported for out-of-band management (add them with `oobkit import`)');
computers
  .command('list')
  .description('list imported computers by host name')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }, cmd: Command) => {
    await withBackend(cmd, 'read', async (b) => {
      const list = await b.listComputers();
      print(o.json, list, () =>
        table(list, [
          ['uuid', 'UUID'],
          ['hostName', 'HOST'],
          ['domainName', 'DOMAIN'],
          ['ou', 'OU'],
          ['importedAt', 'IMPORTED'],
        ]),
      );
    });
  });
computers
  .command('delete')
  .description(
    'remove an imported computer: its hellos are dropped from now on (its device record and secrets are kept)',
  )
  .argument('<uuid>', 'the computer')
  .action(async (uuid: string, _o: unknown, cmd: Command) => {
    await withBackend(cmd, 'write', async (b) => {
      if (!(await b.deleteComputer(uuid))) throw b.notFound(`computer ${uuid}`);
      process.stdout.write(`removed computer ${uuid}\n`);
    });
  });

program
  .command('demo')
  .description(
    'provision a simulated fleet on embedded defaults and print a summary; exits 0 only if every device ended provisioned',
  )
  .option(
    '--devices <n>',
    `fleet size (${DEMO_LIMITS.devices.min}-${DEMO_LIMITS.devices.max}; default 50)`,
    intIn(DEMO_LIMITS.devices.min, DEMO_LIMITS.devices.max),
  )
  .option(
    '--instances <n>',
    `service instances sharing the site store (${DEMO_LIMITS.instances.min}-${DEMO_LIMITS.instances.max}; default 1)`,
    intIn(DEMO_LIMITS.instances.min, DEMO_LIMITS.instances.max),
  )
  .option(
    '--database-url <url>',
    'an empty PostgreSQL database for the site store instead of SQLite (a password may come from PGPASSWORD)',
  )
  .option('--json', 'print the summary as JSON')
  .action(
    async (
      o: { devices?: number; instances?: number; databaseUrl?: string; json?: boolean },
      cmd: Command,
    ) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { runDemo } = await import('./demo.js');
      // Ctrl-C stops the fleet and the services and removes the temporary folder (its key file
      // with it) before exiting 130; a second Ctrl-C exits at once.
      const stop = new AbortController();
      const interrupted = new Error('the demo was interrupted');
      const onSigint = () => stop.abort(interrupted);
      process.once('SIGINT', onSigint);
      const summary = await runDemo({
        signal: stop.signal,
        ...(o.devices !== undefined ? { devices: o.devices } : {}),
        ...(o.instances !== undefined ? { instances: o.instances } : {}),
        ...(o.databaseUrl !== undefined ? { databaseUrl: o.databaseUrl } : {}),
        ...(g.dataDir !== undefined ? { dataDir: g.dataDir } : {}),
        // The service's log goes to stderr; the demo prints its own progress on stdout.
        ...(logLevelOf(g) !== undefined ? { logLevel: logLevelOf(g) } : {}),
        json: o.json === true,
        out: (line: string) => process.stdout.write(`${line}\n`),
      })
        .catch((err: unknown) => {
          if (err !== interrupted) throw err;
          process.stderr.write(
            `oobkit: ${interrupted.message}; ${g.dataDir === undefined ? 'its temporary data folder was removed' : `the data stays in ${g.dataDir}`}\n`,
          );
          process.exitCode = 130;
          return undefined;
        })
        .finally(() => process.off('SIGINT', onSigint));
      if (summary && !summary.ok) process.exitCode = EXIT_FAILED;
    },
  );

/** The log level from `--log-level` or OOBKIT_LOG_LEVEL, for commands that run a service without `configFor` (demo). */
function logLevelOf(g: GlobalOptions): LogLevelSetting | undefined {
  return logLevelFrom(g.logLevel, process.env);
}

/**
 * Who uses the admin API token, which decides where it may come from: `serve` requires it (and
 * creates `<dataDir>/api-token` on first start); `client` (`--api`) sends it, from `--token`,
 * OOBKIT_API_TOKEN or an existing token file, and never creates one; `none` (the data folder)
 * does not use it, so neither `--token` nor the token file is looked at.
 */
type TokenUse = 'serve' | 'client' | 'none';

function configFor(cmd: Command, use: TokenUse, overrides: DeepPartial<ServiceConfig> = {}): ServiceConfig {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  // Only `serve` lets resolveConfig find the token (and create the file); elsewhere a placeholder
  // keeps it from looking, and a client's token is read below, read-only.
  const token = use === 'serve' ? tokenFlag(g) : DIRECT_MODE_TOKEN;
  const config = resolveConfig(
    {
      ...overrides,
      ...(g.dataDir !== undefined ? { dataDir: g.dataDir } : {}),
      ...(g.logLevel !== undefined ? { logLevel: g.logLevel as ServiceConfig['logLevel'] } : {}),
      ...(token !== undefined ? { api: { ...overrides.api, token } } : {}),
    },
    process.env,
  );
  if (use !== 'client') return config;
  const sent = resolveApiToken(tokenFlag(g), config.dataDir, process.env, 'read');
  if (sent === undefined) {
    throw new UsageError(
      `--api needs the admin API token: give --token, set OOBKIT_API_TOKEN, or point --data-dir at the service's data folder (there is no ${join(config.dataDir, API_TOKEN_FILE)})`,
    );
  }
  return { ...config, api: { ...config.api, token: sent } };
}

/** `--token`, refused (exit 2, without echoing it) when too short; checked only where it is used. */
function tokenFlag(g: GlobalOptions): string | undefined {
  if (g.token !== undefined && g.token.length < API_TOKEN_MIN_LENGTH) {
    throw new UsageError(`--token must be at least ${API_TOKEN_MIN_LENGTH} characters`);
  }
  return g.token;
}

async function withBackend(
  cmd: Command,
  mode: 'read' | 'write',
  fn: (b: Backend) => Promise<void>,
): Promise<void> {
  const backend =
    cmd.optsWithGlobals<GlobalOptions>().api === undefined
      ? await directBackend(configFor(cmd, 'none'), mode)
      : await clientBackend(cmd);
  try {
    await fn(backend);
  } finally {
    await backend.close();
  }
}

/**
 * The API backend for `--api`: the URL, the CA file and the token are checked here, before any
 * request, and nothing is written (no token file: that is the service's to create).
 */
async function clientBackend(cmd: Command): Promise<Backend> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  // `--api` is an http(s) URL already (apiUrlOption).
  const root = new URL(g.api as string);
  const ca = await apiCaPem(g);
  if (ca !== undefined && root.protocol !== 'https:') {
    throw new UsageError('--api-ca goes with an https --api URL');
  }
  const token = configFor(cmd, 'client').api.token;
  return apiBackend(root, token, ca === undefined ? undefined : await trustingFetch(ca));
}

/**
 * The PEM certificates of `--api-ca` (or OOBKIT_API_CA); undefined without either. A file holding
 * no certificate (a key, a DER file) is refused here: given to TLS as is, it would only surface
 * as an untrusted certificate at the first request.
 */
async function apiCaPem(g: GlobalOptions): Promise<string | undefined> {
  const fromEnv = g.apiCa === undefined;
  const file = g.apiCa ?? (process.env.OOBKIT_API_CA || undefined);
  if (file === undefined) return undefined;
  const pem = await readText(file);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length > 0 && blocks.every(isCertificate)) return pem;
  const message = `${fromEnv ? 'OOBKIT_API_CA' : '--api-ca'} ${file} holds no PEM certificate (-----BEGIN CERTIFICATE----- …)`;
  // A flag is the command line (exit 2); the variable is configuration (CONFIG_INVALID, exit 1).
  throw fromEnv ? new ConfigError(message, 'OOBKIT_API_CA') : new UsageError(message);
}

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

/**
 * The configured store (PostgreSQL with OOBKIT_DATABASE_URL, else the data folder's SQLite file);
 * reading commands refuse a data folder without a database instead of making one.
 */
async function openDataFolderStore(config: ServiceConfig, mode: 'read' | 'write'): Promise<SiteStore> {
  if (config.databaseUrl !== undefined) return openConfiguredStore(config);
  const isNew = config.databasePath !== ':memory:' && !existsSync(config.databasePath);
  if (mode === 'read' && isNew) {
    throw new ServiceError(
      'STORE_NOT_FOUND',
      `no site store at ${config.databasePath}; import computers or run \`oobkit serve\` first, or pass --data-dir`,
    );
  }
  const store = await openConfiguredStore(config);
  // A mistyped --data-dir (or a command run in the wrong folder) must not make a site unnoticed.
  if (isNew) {
    process.stderr.write(
      `oobkit: created a new site store at ${config.databasePath} (key ${config.keyFile}); pass --data-dir to use another site\n`,
    );
  }
  return store;
}

async function directBackend(config: ServiceConfig, mode: 'read' | 'write'): Promise<Backend> {
  // Administrative changes made here leave an event each (`by: 'cli'`), as over the API.
  const store = withAdminAudit(await openDataFolderStore(config, mode), 'cli');
  const publicCredential = (c: PublicCredential): PublicCredential => ({
    id: c.id,
    label: c.label,
    username: c.username,
    priority: c.priority,
  });
  return {
    async importComputers(text, kind) {
      const list =
        kind === 'csv' ? parseComputersCsv(text) : computersFromJson(parseJson(text, 'the JSON file'));
      return store.importComputers(list);
    },
    listDevices: (status) => store.listDevices(status ? { status } : {}),
    countByState: () => store.countByState(),
    listEvents: (filter) => store.listEvents(filter),
    listJobs: (filter) => store.listJobs(filter),
    readiness: () => readinessReport(store),
    async getDevice(uuid) {
      const d = await deviceDetail(store, uuid);
      if (!d) throw deviceNotFound(uuid);
      return d;
    },
    async revealSecrets(uuid, kind, pending) {
      if (!(await store.getDevice(uuid))) throw deviceNotFound(uuid);
      const secrets = await store.listSecrets(uuid, {
        kind,
        states: pending ? ['current', 'pending'] : ['current'],
      });
      // Who read which secret stays on record (never the value).
      await store.appendEvent({
        level: 'info',
        type: 'secret.revealed',
        uuid,
        message: `${kind} secret(s) ${secrets.map((x) => `#${x.id}`).join(', ') || '(none)'} read on the command line`,
        data: { kind, secretIds: secrets.map((x) => x.id), pending, by: 'cli' },
      });
      return secrets;
    },
    provision: async (uuid, reason) =>
      jobRequestResult(uuid, 'computer', await requestProvisioning(store, uuid, reason)),
    unprovision: async (uuid) => jobRequestResult(uuid, 'device', await requestUnprovision(store, uuid)),
    addCredential: async (c) => publicCredential(await store.addCredential(c)),
    listCredentials: async () => (await store.listCredentials()).map(publicCredential),
    deleteCredential: (id) => store.deleteCredential(id),
    async getSettings(reveal) {
      const s = await store.getSettings();
      if (!reveal) return redactSettings(s);
      // Secrets shown in clear stay on record, as `oobkit secret` does.
      await store.appendEvent(settingsRevealedEvent('cli'));
      return s;
    },
    async putSettings(doc) {
      const next = validateSettings(restoreRedacted(doc, await store.getSettings()));
      await store.putSettings(next);
      return redactSettings(next);
    },
    async addCertificate(body) {
      // Loaded on demand: the certificate parser is most of the CLI's start-up time.
      const { parseCertificateBody } = await import('./api/certificates.js');
      return publicCertificate(await store.addProvisioningCertificate(await parseCertificateBody(body)));
    },
    listCertificates: async () => (await store.listProvisioningCertificateInfo()).map(publicCertificate),
    async setCertificateEnabled(id, enabled) {
      if (!(await store.setProvisioningCertificateEnabled(id, enabled))) return undefined;
      const c = (await store.listProvisioningCertificateInfo()).find((x) => x.id === id);
      return c ? publicCertificate(c) : undefined;
    },
    deleteCertificate: (id) => store.deleteProvisioningCertificate(id),
    listComputers: () => store.listComputers(),
    deleteComputer: (uuid) => store.deleteComputer(uuid),
    notFound: (what) => new ServiceError('STORE_NOT_FOUND', `${what} not found`),
    close: () => store.close(),
  };
}

/** A job request's outcome on the data folder, worded as the admin API words it. */
function deviceNotFound(uuid: string): ServiceError {
  return new ServiceError('STORE_NOT_FOUND', `device ${uuid} not found`);
}

function jobRequestResult(
  uuid: string,
  what: 'computer' | 'device',
  r: JobRequestOutcome,
): { job: Job; created: boolean } {
  if (r.outcome === 'not-found') {
    const hint = what === 'computer' ? 'import it first' : 'it has not sent a hello or been provisioned';
    throw new ServiceError('STORE_NOT_FOUND', `${what} ${uuid} not found (${hint})`);
  }
  if (r.outcome === 'conflict') {
    throw new ServiceError(
      'API_JOB_CONFLICT',
      `${jobConflictMessage(r.job)}; wait for it or let it fail first`,
    );
  }
  return { job: r.job, created: r.outcome === 'queued' };
}

interface TrustingFetch {
  fetch: typeof fetch;
  close(): Promise<void>;
}

/**
 * A fetch that trusts the given PEM certificates, for the CLI's API calls only (a self-signed
 * service certificate). undici is loaded only then: plain calls use the global fetch.
 */
async function trustingFetch(ca: string): Promise<TrustingFetch> {
  const undici = await import('undici');
  const dispatcher = new undici.Agent({ connect: { ca } });
  return {
    fetch: ((input: URL, init?: RequestInit) =>
      undici.fetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch,
    close: () => dispatcher.close(),
  };
}

/**
 * Why a request got no answer: fetch's own error says only "fetch failed", its cause says what
 * happened (`self-signed certificate`, `connect ECONNREFUSED 127.0.0.1:8080`, a name mismatch).
 * Connecting to a name with several addresses fails with an AggregateError of one error each
 * and no message of its own: the first one then.
 */
function networkCause(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const next =
      e instanceof AggregateError && e.message === '' && e.errors.length > 0
        ? e.errors[0]
        : e instanceof Error && e.cause !== undefined
          ? e.cause
          : undefined;
    if (next === undefined) break;
    e = next;
  }
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return message || (typeof code === 'string' ? code : 'no answer');
}

function apiBackend(root: URL, token: string, trusting?: TrustingFetch): Backend {
  const doFetch = trusting?.fetch ?? fetch;
  const call = async <T>(
    method: string,
    path: string,
    body?: string,
    contentType = 'application/json',
  ): Promise<T> => {
    let res: Response;
    try {
      res = await doFetch(new URL(path, root), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': contentType }),
        },
        ...(body === undefined ? {} : { body }),
      });
    } catch (cause) {
      throw new ApiError(
        0,
        'API_UNAVAILABLE',
        `cannot reach the admin API at ${root.origin} (${networkCause(cause)})`,
        undefined,
        { cause },
      );
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const e = (data ?? {}) as { code?: string; message?: string; details?: unknown };
      throw new ApiError(
        res.status,
        (e.code ?? 'API_INTERNAL') as ServiceErrorCode,
        e.message ?? `HTTP ${res.status}`,
        e.details,
      );
    }
    return data as T;
  };
  /** A call's answer, or undefined when the API says 404. */
  const found = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  };
  /** Whether a DELETE found what it deletes. */
  const deleted = async (path: string): Promise<boolean> =>
    (await found(call('DELETE', path).then(() => true))) === true;
  const query = (o: object) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    return s ? `?${s}` : '';
  };
  return {
    importComputers: (text, kind) =>
      call('POST', '/computers', text, kind === 'csv' ? 'text/csv' : 'application/json'),
    listDevices: (status) => call('GET', `/devices${query({ status })}`),
    countByState: () => call('GET', '/summary'),
    listEvents: (filter) => call('GET', `/events${query(filter)}`),
    listJobs: (filter) => call('GET', `/jobs${query(filter)}`),
    async readiness() {
      const r = await call<{ ready: boolean; blockers: string[]; warnings: string[] }>('GET', '/readiness');
      // The API's `warnings` repeats the blockers first.
      return { ready: r.ready, blockers: r.blockers, warnings: r.warnings.slice(r.blockers.length) };
    },
    getDevice: (uuid) => call('GET', `/devices/${encodeURIComponent(uuid)}`),
    revealSecrets: () => {
      throw new UsageError('secret values are read on the data folder only, never over the API');
    },
    provision: (uuid, reason) =>
      call('POST', `/devices/${encodeURIComponent(uuid)}/jobs`, JSON.stringify({ reason })),
    unprovision: (uuid) => call('POST', `/devices/${encodeURIComponent(uuid)}/unprovision`),
    addCredential: (c) => call('POST', '/credentials', JSON.stringify(c)),
    listCredentials: () => call('GET', '/credentials'),
    deleteCredential: (id) => deleted(`/credentials/${id}`),
    getSettings: (reveal) => {
      if (reveal) throw new UsageError('--reveal works on the data folder only, never over the API');
      return call('GET', '/settings');
    },
    putSettings: (doc) => call('PUT', '/settings', JSON.stringify(doc)),
    addCertificate: (body) => call('POST', '/provisioning-certificates', JSON.stringify(body)),
    listCertificates: () => call('GET', '/provisioning-certificates'),
    setCertificateEnabled: (id, enabled) =>
      found(call('PUT', `/provisioning-certificates/${id}/enabled`, JSON.stringify({ enabled }))),
    deleteCertificate: (id) => deleted(`/provisioning-certificates/${id}`),
    listComputers: () => call('GET', '/computers'),
    deleteComputer: (uuid) => deleted(`/computers/${encodeURIComponent(uuid)}`),
    notFound: (what) => new ApiError(404, 'API_NOT_FOUND', `${what} not found`),
    close: async () => {
      await trusting?.close();
    },
  };
}

const COMPUTER_KEYS = new Set(['uuid', 'hostName', 'domainName', 'ou']);

function computersFromJson(doc: unknown): Omit<ImportedComputer, 'importedAt'>[] {
  if (!Array.isArray(doc))
    throw new StoreInputError('the JSON file must hold an array of computers', 'computers');
  return doc.map((c: unknown, i) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) {
      throw new StoreInputError(`computers[${i}] must be an object`, `computers[${i}]`, i);
    }
    const extra = Object.keys(c).find((k) => !COMPUTER_KEYS.has(k));
    if (extra)
      throw new StoreInputError(
        `computers[${i}] has an unknown field ${extra}`,
        `computers[${i}].${extra}`,
        i,
      );
    return validateComputer({ ...c, source: 'import' }, i);
  });
}

function importKind(file: string, text: string, format: string | undefined): 'csv' | 'json' {
  if (format !== undefined) {
    if (format !== 'csv' && format !== 'json') throw new UsageError('--format must be csv or json');
    return format;
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  return /^\s*[[{]/.test(text) ? 'json' : 'csv';
}

const SETTINGS_FIELDS: ReadonlySet<string> = new Set(SETTINGS_KEYS);

/** A copy of `doc` with `value` at a dotted path (`features.sol`, `wifiProfiles.0.ssid`). */
function setPath(doc: ProvisioningSettings, path: string, value: unknown): unknown {
  const parts = path.split('.');
  if (!SETTINGS_FIELDS.has(parts[0] as string)) {
    throw new UsageError(`unknown setting ${parts[0]} (one of ${SETTINGS_KEYS.join(', ')})`);
  }
  const copy = structuredClone(doc) as unknown as Record<string, unknown>;
  let at: Record<string, unknown> = copy;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    if (typeof next !== 'object' || next === null)
      throw new UsageError(`setting ${path}: ${p} is not an object or list`);
    at = next as Record<string, unknown>;
  }
  at[parts.at(-1) as string] = value;
  return copy;
}

function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    // A byte order mark, as some Windows editors save UTF-8, is no JSON: drop it (the CSV parser does).
    return JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch {
    throw new StoreInputError(`${what} is not valid JSON`, 'json');
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UsageError(`cannot read ${file}${code ? ` (${code})` : ''}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The first line of stdin, for a `--…-stdin` secret. On a terminal: a prompt on stderr, the
 * typing not echoed, done at Enter (Ctrl-D also ends it, Ctrl-C exits 130); from a pipe or a
 * file: its first line.
 */
async function readSecretLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return (await readStdin()).split(/\r?\n/)[0] ?? '';
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve) => {
    let value = '';
    const finish = (cancelled: boolean) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (cancelled) process.exit(130);
      resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(false);
        if (ch === '\u0003') return finish(true);
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function secretOption(
  value: string | undefined,
  fromStdin: boolean | undefined,
  flag: string,
  allowEmpty = false,
): Promise<string> {
  if (value !== undefined && fromStdin) throw new UsageError(`give ${flag} or ${flag}-stdin, not both`);
  const v = fromStdin ? await readSecretLine(`${flag.replace(/^--/, '')}: `) : value;
  if (v === undefined || (!allowEmpty && v === ''))
    throw new UsageError(`${flag} (or ${flag}-stdin) is required`);
  return v;
}

function intOption(v: string): number {
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new InvalidArgumentError('expected a whole number');
  return Number(v);
}

/**
 * A whole-number flag or argument from `min` to `max`, for commander to parse: a value out of
 * range is a usage error (exit 2) naming the flag, not an error from the store or the config.
 */
function intIn(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = intOption(v);
    if (n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected a whole number, ${min} or more`
          : `expected a whole number from ${min} to ${max}`,
      );
    }
    return n;
  };
}

/** `--api`: an http:// or https:// URL (`localhost:8080` parses as a URL too: of scheme `localhost:`). */
function apiUrlOption(v: string): string {
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new InvalidArgumentError('expected an http:// or https:// URL, such as http://127.0.0.1:8080');
  }
  return v;
}

/**
 * The step to show for a job. A failed job's `step` is where its journal stopped, the last step
 * it completed; `lastError.step` is the step that failed, which is what an operator looks for.
 */
function shownStep(job: Job): string | undefined {
  return job.state === 'failed' ? (job.lastError?.step ?? job.step) : job.step;
}

/** One event a line, for `events --follow`. */
function eventLine(e: SiteEvent, json: boolean): string {
  if (json) return JSON.stringify(e);
  return [
    e.id,
    e.at,
    e.level.padEnd(5),
    e.type.padEnd(17),
    e.uuid ?? '-',
    e.message.replace(/\s+/g, ' '),
  ].join('  ');
}

/**
 * Prints the events `filter` selects, then every new one as it is stored, until SIGINT or
 * SIGTERM (exit 0). Polls with `afterId`, so nothing is printed twice or skipped.
 */
async function followEvents(
  b: Backend,
  filter: EventFilter,
  intervalMs: number,
  json: boolean,
): Promise<void> {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let batch = await b.listEvents(filter);
    let afterId = filter.afterId ?? 0;
    for (;;) {
      for (const e of batch) {
        process.stdout.write(`${eventLine(e, json)}\n`);
        afterId = Math.max(afterId, e.id);
      }
      const limit = filter.limit ?? 100;
      // A full page means there may be more right now; otherwise wait for the next look.
      if (batch.length < limit) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          stopped,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, intervalMs))),
        ]);
        clearTimeout(timer);
      }
      if (stopping) return;
      batch = await b.listEvents({ ...filter, afterId });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function print(json: boolean | undefined, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

type ColumnSpec<T> = [keyof T | ((row: T) => unknown), string];

function table<T>(rows: readonly T[], columns: ColumnSpec<T>[]): string {
  const cell = (row: T, c: ColumnSpec<T>[0]) => {
    const v = typeof c === 'function' ? c(row) : row[c];
    return v === undefined || v === null ? '' : String(v).replace(/\s+/g, ' ');
  };
  const grid = [columns.map((c) => c[1]), ...rows.map((r) => columns.map((c) => cell(r, c[0])))];
  const widths = columns.map((_, i) => Math.max(...grid.map((g) => (g[i] as string).length)));
  const lines = grid.map((g) =>
    g
      .map((v, i) => (i === g.length - 1 ? v : v.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd(),
  );
  if (rows.length === 0) lines.push('(none)');
  return lines.join('\n');
}

/**
 * `CODE: message` for stderr. The HTTP status shows only over `--api`, where it is the admin
 * API's answer: on the data folder no HTTP is involved, though checks shared with the API raise
 * `ApiError`s there too. A code in `details.code` (a certificate's `PCERT_…` under
 * `API_INVALID_CERTIFICATE`) follows the message: it is the stable code that says what was wrong.
 */
function describeError(err: unknown, overHttp: boolean): string {
  if (err instanceof ApiError) {
    const status = overHttp && err.status > 0 ? ` (HTTP ${err.status})` : '';
    const inner = (err.details as { code?: unknown } | undefined)?.code;
    const detail = typeof inner === 'string' && inner !== err.code ? ` (${inner})` : '';
    return `${err.code}${status}: ${err.message}${detail}`;
  }
  if (err instanceof ServiceError) return `${err.code}: ${err.message}`;
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander printed its message already; help and version are not failures.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (err instanceof UsageError) {
    process.stderr.write(`oobkit: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    const overHttp = program.opts<GlobalOptions>().api !== undefined;
    process.stderr.write(`oobkit: ${describeError(err, overHttp)}\n`);
    process.exitCode = EXIT_FAILED;
  }
}
