/** First address of the simulator's loopback block; each device gets the next one. */
const BASE = (127 << 24) | (16 << 16);
/** 127.16.0.1 .. 127.255.255.254 */
export const MAX_DEVICES = (0xff_ff_ff_fe - (BASE >>> 0)) >>> 0;

/**
 * The loopback address of simulated device number `index` (0-based): 127.16.0.1, 127.16.0.2, …
 * Every device gets its own address so it can listen on the real AMT ports 16992/16993.
 */
export function deviceAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_DEVICES) {
    throw new RangeError(`device index ${index} is outside 0..${MAX_DEVICES - 1}`);
  }
  const n = ((BASE >>> 0) + index + 1) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}
