/**
 * The AMT simulator's own cost, against floors measured in the same run:
 * - a WS-Man Get answered by a simulated device (parse, digest check, firmware lookup, answer)
 *   vs a bare node:http server sending canned bytes of the same size over the same client;
 * - starting devices (two listening sockets plus firmware state each) vs binding two bare
 *   net servers per address.
 * The ratios say how much of a fleet's capacity the simulation itself takes.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
// The simulator is a private app, not a bench dependency yet: imported by path.
import { deviceAddress, type SimulatedDevice, startDevice } from '@oobkit/amt-simulator';
import { answerChallenge, parseWwwAuthenticate } from '@oobkit/http-digest';
import { buildGetRequest, resourceUriFor } from '@oobkit/wsman';
import { Pool } from 'undici';
import type { Comparison } from '../harness.js';

const PASSWORD = 'Adm1n!Passw0rd';
const GETS_PER_BATCH = 200;
const DEVICES_PER_BATCH = 50;
/** A block of loopback addresses the benchmark owns (far from the tests' random picks). */
const BASE = 900_000;

const cleanups: Array<() => Promise<void>> = [];

export async function teardown(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

async function listen(server: HttpServer | Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
}

export async function comparisons(): Promise<Comparison[]> {
  const device = await startDevice({ index: BASE, provisioned: true, adminPassword: PASSWORD });
  cleanups.push(() => device.stop());
  const origin = `http://${device.address}:${device.ports.http}`;
  const body = buildGetRequest(resourceUriFor('AMT_GeneralSettings'), { to: '/wsman' }).xml;

  // One challenge, then every request answers it with the next nc (as a keep-alive client does).
  const pool = new Pool(origin, { connections: 1 });
  cleanups.push(() => pool.close());
  const first = await pool.request({ path: '/wsman', method: 'POST', body });
  await first.body.text();
  const [challenge] = parseWwwAuthenticate(String(first.headers['www-authenticate']));
  if (!challenge) throw new Error('the simulated device sent no digest challenge');
  let nc = 0;
  const authorized = () =>
    answerChallenge(
      challenge,
      { username: 'admin', password: PASSWORD },
      { method: 'POST', uri: '/wsman' },
      {
        nc: ++nc,
        cnonce: 'b0a7c0ffee',
      },
    );
  const sample = await pool.request({
    path: '/wsman',
    method: 'POST',
    body,
    headers: { authorization: authorized() },
  });
  const canned = await sample.body.text();
  if (sample.statusCode !== 200) throw new Error(`the simulated device answered ${sample.statusCode}`);

  // The floor: same client, same request bytes, a server that parses nothing and sends the answer.
  const floorAddress = deviceAddress(BASE + 1);
  const floor = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/soap+xml;charset=UTF-8');
      res.end(canned);
    });
  });
  await listen(floor, floorAddress, 16992);
  cleanups.push(() => new Promise((resolve) => floor.close(() => resolve())));
  const floorPool = new Pool(`http://${floorAddress}:16992`, { connections: 1 });
  cleanups.push(() => floorPool.close());

  const gets = (p: Pool) => async () => {
    for (let i = 0; i < GETS_PER_BATCH; i++) {
      const r = await p.request({
        path: '/wsman',
        method: 'POST',
        body,
        headers: { authorization: authorized() },
      });
      await r.body.text();
    }
    return GETS_PER_BATCH;
  };

  let block = BASE + 10;
  const nextBlock = () => {
    const b = block;
    block += DEVICES_PER_BATCH;
    return b;
  };

  return [
    {
      title: 'simulated device: WS-Man Get with digest (keep-alive) vs a canned-answer http server',
      unit: 'Get',
      baseline: { name: 'canned http answer', batch: gets(floorPool) },
      subject: { name: 'simulated device', batch: gets(pool) },
    },
    {
      title: `starting ${DEVICES_PER_BATCH} devices vs binding 2 bare sockets per address`,
      unit: 'device',
      baseline: {
        name: 'bare net servers',
        batch: async () => {
          const b = nextBlock();
          const servers: Server[] = [];
          for (let i = 0; i < DEVICES_PER_BATCH; i++) {
            for (const port of [16992, 16993]) {
              const s = createNetServer();
              await listen(s, deviceAddress(b + i), port);
              servers.push(s);
            }
          }
          await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
          return DEVICES_PER_BATCH;
        },
      },
      subject: {
        name: 'startDevice',
        batch: async () => {
          const b = nextBlock();
          const devices: SimulatedDevice[] = [];
          for (let i = 0; i < DEVICES_PER_BATCH; i++) devices.push(await startDevice({ index: b + i }));
          await Promise.all(devices.map((d) => d.stop()));
          return DEVICES_PER_BATCH;
        },
      },
    },
  ];
}
