import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildSoapFault,
  buildSoapRequest,
  buildSoapResponse,
  parseSoapRequest,
  SOAP_SCHEMA,
  SoapClient,
  type SoapServiceName,
} from '@oobkit/amt-soap';
import { Agent, type Dispatcher } from 'undici';
import { type Comparison, concurrentBatch } from '../harness.js';

// Legacy SOAP calls per second over loopback, against the floor: the same request and answer
// bytes over the same HTTP stack, sent by plain undici (body drained, not parsed) to an empty
// handler that answers canned bytes. First the client side alone (SoapClient to the canned
// server: what the provisioning service pays), then both sides in this process (SoapClient to a
// server built from the toolkit, as the simulator is).

const REQUEST_BATCH = 200;
const CONCURRENCY = 4;
const BATCH_DEADLINE_MS = 5_000;

const IF_SETTINGS = {
  InterfaceDescriptor: {
    HardwareAddressDescription: 'Intel(R) 82566DM Gigabit Network Connection',
    MACAddress: '00-15-5d-01-02-03',
    InterfaceMode: 'SHARED_MAC_ADDRESS',
    LinkPolicy: 31,
    DhcpEnabled: true,
    IPv4Parameters: {
      LocalAddress: 0xc0a80117,
      SubnetMask: 0xffffff00,
      DefaultGatewayAddress: 0xc0a80101,
      PrimaryDnsAddress: 0xc0a80102,
      SecondaryDnsAddress: 0,
    },
  },
};

interface Case {
  service: SoapServiceName;
  method: string;
  params: Record<string, unknown>;
  output: Record<string, unknown>;
}

const CASES: Record<string, Case> = {
  hostname: {
    service: 'NetworkAdministration',
    method: 'GetHostName',
    params: {},
    output: { HostName: 'pc-0017' },
  },
  interface: {
    service: 'NetworkAdministration',
    method: 'GetInterfaceSettings',
    params: { InterfaceHandle: 0 },
    output: IF_SETTINGS,
  },
};

const servers: Server[] = [];
const agents: Dispatcher[] = [];

function actionOf(c: Case): string {
  return `"${SOAP_SCHEMA[c.service].namespace}#${c.method}"`;
}

async function listen(handler: (body: Buffer, path: string, action: string | undefined) => [number, string]) {
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [status, body] = handler(
        Buffer.concat(chunks),
        req.url ?? '',
        req.headers.soapaction as string | undefined,
      );
      res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
      res.end(body);
    });
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** The empty handler: canned answer bytes chosen by SOAPAction, the request is not looked at. */
function startCannedServer(): Promise<string> {
  const canned = new Map(
    Object.values(CASES).map((c) => [
      actionOf(c),
      buildSoapResponse({ service: c.service, method: c.method }, 0, c.output),
    ]),
  );
  return listen((_body, _path, action) => {
    const answer = action === undefined ? undefined : canned.get(action);
    return answer === undefined ? [404, ''] : [200, answer];
  });
}

/** A server built from the toolkit, as the simulator builds one. */
function startToolkitServer(): Promise<string> {
  const outputs = new Map(Object.values(CASES).map((c) => [`${c.service}.${c.method}`, c.output]));
  return listen((body, path, soapAction) => {
    try {
      const r = parseSoapRequest(body, { path, ...(soapAction === undefined ? {} : { soapAction }) });
      return [200, buildSoapResponse(r, 0, outputs.get(`${r.service}.${r.method}`))];
    } catch (e) {
      return [500, buildSoapFault('Client', e instanceof Error ? e.message : 'bad request')];
    }
  });
}

/** Runs `one` REQUEST_BATCH times with CONCURRENCY in flight, cut short at the deadline. */
function batch(one: () => Promise<void>): () => Promise<number> {
  return concurrentBatch(one, {
    count: REQUEST_BATCH,
    concurrency: CONCURRENCY,
    deadlineMs: BATCH_DEADLINE_MS,
  });
}

function floorBatch(c: Case, origin: string, agent: Agent): () => Promise<number> {
  const body = buildSoapRequest(c.service, c.method, c.params);
  const soapaction = actionOf(c);
  return batch(async () => {
    const res = await agent.request({
      origin,
      path: SOAP_SCHEMA[c.service].path,
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction },
      body,
      headersTimeout: BATCH_DEADLINE_MS,
      bodyTimeout: BATCH_DEADLINE_MS,
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`floor status ${res.statusCode}`);
  });
}

function clientBatch(c: Case, client: SoapClient): () => Promise<number> {
  const expected = JSON.stringify(c.output);
  return batch(async () => {
    const out = await client.call(c.service, c.method, c.params);
    if (JSON.stringify(out) !== expected) throw new Error(`unexpected answer to ${c.method}`);
  });
}

export async function comparisons(): Promise<Comparison[]> {
  const canned = await startCannedServer();
  const toolkit = await startToolkitServer();
  const floorAgent = new Agent({ connections: CONCURRENCY });
  const soapAgent = new Agent({ connections: CONCURRENCY });
  agents.push(floorAgent, soapAgent);
  const toCanned = new SoapClient({ dispatcher: soapAgent, origin: canned });
  const toToolkit = new SoapClient({ dispatcher: soapAgent, origin: toolkit });
  return Object.values(CASES).flatMap((c): Comparison[] => [
    {
      title: `legacy SOAP ${c.method}, client side: SoapClient vs the same bytes drained by plain undici (canned server)`,
      unit: 'call',
      baseline: { name: 'floor: plain undici', batch: floorBatch(c, canned, floorAgent) },
      subject: { name: 'SoapClient.call', batch: clientBatch(c, toCanned) },
    },
    {
      title: `legacy SOAP ${c.method}, both sides in this process: SoapClient + toolkit server vs plain undici + canned server`,
      unit: 'call',
      baseline: { name: 'floor: plain undici + canned', batch: floorBatch(c, canned, floorAgent) },
      subject: { name: 'SoapClient + parseSoapRequest/buildSoapResponse', batch: clientBatch(c, toToolkit) },
    },
  ]);
}

export async function teardown(): Promise<void> {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
