export { deviceAddress, MAX_DEVICES } from './address.js';
