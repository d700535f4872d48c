export {
  createVirtualClock,
  type HelloClock,
  scaledClock,
  systemClock,
  type VirtualClock,
  type VirtualClockOptions,
} from './clock.js';
export {
  type DecodeHelloOptions,
  decodeHello,
  encodeHello,
  type HashAlgorithm,
  HELLO_HASH_ALGORITHMS,
  HELLO_MAX_BYTES,
  type Hello,
  type HelloHash,
  type PkiHello,
  PSK_HELLO_LENGTH,
  type PskHello,
  uuidFromSmbiosBytes,
  uuidToSmbiosBytes,
} from './codec.js';
export {
  HELLO_DECODE_ERROR_CODES,
  type HelloDecodeErrorCode,
  HelloError,
  type HelloErrorCode,
} from './errors.js';
export type { HelloEndReason } from './intake.js';
export {
  createHelloListener,
  HELLO_PORT,
  type HelloAcceptedEvent,
  type HelloConnectionEvent,
  type HelloDroppedEvent,
  type HelloDropReason,
  type HelloListener,
  type HelloListenerEvent,
  type HelloListenerEventMap,
  type HelloListenerOptions,
  type HelloListenerStats,
  type HelloRateLimit,
  type HelloRejectedEvent,
} from './listener.js';
export {
  HELLO_RETRY_OFFSETS_MS,
  HELLO_SCHEDULE_WINDOW_MS,
  type HelloSchedule,
  type HelloScheduleOptions,
  type HelloScheduleRun,
  type HelloScheduleStartOptions,
  helloSchedule,
} from './schedule.js';
export { type SendHelloTarget, sendHello } from './sender.js';
