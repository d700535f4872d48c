import { describe, expect, it } from 'vitest';
import {
  createHelloListener,
  createVirtualClock,
  decodeHello,
  encodeHello,
  HELLO_PORT,
  HELLO_RETRY_OFFSETS_MS,
  HelloError,
  helloSchedule,
  scaledClock,
  sendHello,
  uuidFromSmbiosBytes,
  uuidToSmbiosBytes,
} from './index.js';

describe('@oobkit/hello public API', () => {
  it('exports its base error with a stable code, the offset and the cause kept', () => {
    const cause = new Error('inner');
    const err = new HelloError('HELLO_SEND_FAILED', 'example', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('HelloError');
    expect(err.code).toBe('HELLO_SEND_FAILED');
    expect(err.cause).toBe(cause);
    expect(err.offset).toBeUndefined();
    expect(new HelloError('HELLO_TRUNCATED', 'x', { offset: 3 }).offset).toBe(3);
    expect('cause' in new HelloError('HELLO_TRUNCATED', 'x')).toBe(false);
  });

  it('exports its protocol constant', () => {
    expect(HELLO_PORT).toBe(9971);
  });

  it('exports the functions the simulator and the service are built on', () => {
    for (const fn of [
      decodeHello,
      encodeHello,
      createHelloListener,
      sendHello,
      helloSchedule,
      createVirtualClock,
      scaledClock,
      uuidFromSmbiosBytes,
      uuidToSmbiosBytes,
    ]) {
      expect(typeof fn).toBe('function');
    }
    expect(HELLO_RETRY_OFFSETS_MS.length).toBeGreaterThan(0);
  });
});
