import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEmitter } from '../../src/lib/emitter';

describe('createEmitter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('calls every handler of a name with the detail, in order', () => {
    const emitter = createEmitter();
    const seen: string[] = [];
    emitter.on('sent', (d) => seen.push('a' + d.count));
    emitter.on('sent', (d) => seen.push('b' + d.count));
    emitter.on('other', () => seen.push('wrong'));
    emitter.emit('sent', { count: 3 });
    expect(seen).toEqual(['a3', 'b3']);
  });

  it('once() fires a single time', () => {
    const emitter = createEmitter();
    const handler = vi.fn();
    emitter.once('track', handler);
    emitter.emit('track', 1);
    emitter.emit('track', 2);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith(1);
  });

  it('off() removes one handler, including one added with once(); without a handler, all of that name', () => {
    const emitter = createEmitter();
    const a = vi.fn();
    const b = vi.fn();
    const c = vi.fn();
    emitter.on('x', a);
    emitter.on('x', b);
    emitter.once('x', c);
    emitter.on('y', a);
    emitter.off('x', a);
    emitter.off('x', c);
    emitter.emit('x');
    expect(a).not.toHaveBeenCalled();
    expect(c).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
    emitter.off('x');
    emitter.emit('x');
    emitter.emit('y');
    expect(b).toHaveBeenCalledTimes(1);
    expect(a).toHaveBeenCalledTimes(1);
  });

  it('a throwing handler warns and does not stop the others or reach the caller', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const emitter = createEmitter();
    const after = vi.fn();
    emitter.on('sent', () => {
      throw new Error('site bug');
    });
    emitter.on('sent', after);
    expect(() => emitter.emit('sent')).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0].join(' ')).toContain('sent');
  });

  it('ignores handlers that are not functions', () => {
    const emitter = createEmitter();
    expect(() => {
      emitter.on('x', null as any);
      emitter.once('x', 'nope' as any);
      emitter.emit('x');
    }).not.toThrow();
  });
});
