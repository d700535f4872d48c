import { describe, expect, it } from 'vitest';
import { DEFAULTS } from './index.js';

describe('provisioning-service defaults', () => {
  it('listens for hellos on the AMT provisioning port', () => {
    expect(DEFAULTS.helloPort).toBe(9971);
  });
});
