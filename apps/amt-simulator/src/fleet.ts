import { MAX_DEVICES } from './address.js';
import { type DeviceOptions, type SimulatedDevice, startDevice } from './device.js';
import { invalidOption, SimulatorError } from './errors.js';
import { createKeyPool } from './keypool.js';
import type { Personality } from './personality.js';

export interface FleetOptions {
  count: number;
  /** A list cycled over the devices, or a function of the device number (default all 'modern'). */
  personalities?: Personality[] | ((i: number) => Personality);
  /** Device i gets `deviceAddress(baseIndex + i)`. Default: a random free block. */
  baseIndex?: number;
  /** Options every device shares. */
  common?: Omit<DeviceOptions, 'index' | 'address' | 'uuid'>;
  /** Per-device options on top of `common` (e.g. a different DNS suffix for some). */
  perDevice?: (i: number) => Omit<DeviceOptions, 'index' | 'address'>;
  /** Devices started at once (default 64). */
  concurrency?: number;
}

export interface Fleet {
  readonly devices: SimulatedDevice[];
  byAddress(address: string): SimulatedDevice | undefined;
  byUuid(uuid: string): SimulatedDevice | undefined;
  stop(): Promise<void>;
}

async function mapLimit<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < n) {
      const i = next++;
      try {
        out[i] = await fn(i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}

/**
 * Starts `count` devices, each on its own loopback address, sharing one key pool (8 keys unless
 * `common.keyPool` is given) and one TLS identity. Stops every started device if one fails.
 */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const { count } = opts;
  if (!Number.isInteger(count) || count < 1 || count > 65_536)
    throw invalidOption('count', 'expected 1..65536');
  const fixedBase = opts.baseIndex !== undefined;
  const base = opts.baseIndex ?? Math.floor(Math.random() * (0xfffff - count - 1));
  if (!Number.isInteger(base) || base < 0 || base + count > MAX_DEVICES) {
    throw invalidOption('baseIndex', 'the block does not fit in the loopback range');
  }
  const personality = (i: number): Personality | undefined => {
    const p = opts.personalities;
    if (p === undefined) return undefined;
    return typeof p === 'function' ? p(i) : p[i % p.length];
  };
  const keyPool = opts.common?.keyPool ?? (await createKeyPool(Math.min(8, count)));
  const started: Array<SimulatedDevice | undefined> = [];
  try {
    const devices = await mapLimit(count, opts.concurrency ?? 64, async (i) => {
      const p = personality(i);
      const o: DeviceOptions = {
        ...opts.common,
        keyPool,
        ...(p === undefined ? {} : { personality: p }),
        ...opts.perDevice?.(i),
      };
      let device: SimulatedDevice;
      try {
        device = await startDevice({ ...o, index: base + i });
      } catch (err) {
        // A random block may overlap devices of another suite: take any free address instead.
        if (fixedBase || !(err instanceof SimulatorError && err.code === 'SIM_ADDRESS_IN_USE')) throw err;
        device = await startDevice(o);
      }
      started[i] = device;
      return device;
    });
    const byAddress = new Map(devices.map((d) => [d.address, d]));
    const byUuid = new Map(devices.map((d) => [d.uuid, d]));
    return {
      devices,
      byAddress: (a) => byAddress.get(a),
      byUuid: (u) => byUuid.get(u.toLowerCase()),
      stop: async () => {
        await Promise.all(devices.map((d) => d.stop()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((d) => d?.stop()));
    throw err;
  }
}
