import { describe, expect, it } from 'vitest';
import { FaultBook } from './faults.js';

describe('FaultBook', () => {
  it('fires the most specific armed step first, each fault `times` times', () => {
    const book = new FaultBook({ request: { kind: 'http500' }, CommitChanges: [{ kind: 'drop', times: 2 }] });
    const steps = ['AMT_SetupAndConfigurationService.CommitChanges', 'CommitChanges', 'request'];
    expect(book.take(steps)).toEqual({ step: 'CommitChanges', fault: { kind: 'drop', times: 2 } });
    expect(book.take(steps)?.step).toBe('CommitChanges');
    expect(book.take(steps)).toEqual({ step: 'request', fault: { kind: 'http500' } });
    expect(book.take(steps)).toBeUndefined();
    expect(book.size).toBe(0);
  });

  it('queues faults on one step in order and never runs out of an Infinity fault', () => {
    const book = new FaultBook();
    book.add('tls', { kind: 'delay', ms: 5 });
    book.add('tls', { kind: 'drop', times: Number.POSITIVE_INFINITY });
    expect(book.take(['tls'])?.fault.kind).toBe('delay');
    for (let i = 0; i < 100; i++) expect(book.take(['tls'])?.fault.kind).toBe('drop');
    book.clear();
    expect(book.take(['tls'])).toBeUndefined();
  });

  it('ignores steps that are not armed', () => {
    const book = new FaultBook({ hello: { kind: 'drop' } });
    expect(book.take(['request', 'wsman'])).toBeUndefined();
    expect(book.size).toBe(1);
  });
});
