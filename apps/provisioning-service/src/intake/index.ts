export {
  type AcceptedHello,
  createHelloIntake,
  HELLO_ACCEPTED_EVENT,
  type HelloIntake,
  type HelloMatch,
  type IntakeOutcome,
  matchHelloHashes,
  normalizeAddress,
  type ReceivedHello,
} from './intake.js';
export {
  createEventThrottle,
  type EventThrottle,
  type EventThrottleOptions,
  type ThrottleDecision,
} from './throttle.js';
