import { describe, expect, it } from 'vitest';
import { hashesAtOnce, hashingSlot, NoFreeSlotError, SlotQueue } from './hashing-slots.js';

describe('SlotQueue', () => {
  /** A queue of `slots`, with `ask` to request a slot for `owner` and `granted` recording the order of the grants. */
  function queueOf(slots: number) {
    const granted: string[] = [];
    const queue = new SlotQueue<string>(slots);
    const ask = (owner: string, label = owner) => queue.acquire(owner, () => granted.push(label));
    return { queue, granted, ask };
  }

  it('grants as many slots as it has, then the others first come, first served', () => {
    const { queue, granted, ask } = queueOf(2);
    ask('a', 'a1');
    ask('b', 'b1');
    ask('a', 'a2');
    ask('b', 'b2');
    expect(granted).toEqual(['a1', 'b1']);
    queue.release('b');
    expect(granted).toEqual(['a1', 'b1', 'a2']);
    queue.release('a');
    queue.release('a');
    expect(granted).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('takes back the slots of an owner that went away, and drops its waiting requests', () => {
    const { queue, granted, ask } = queueOf(1);
    ask('gone', 'gone1');
    ask('gone', 'gone2');
    ask('alive');
    queue.forget('gone');
    expect(granted).toEqual(['gone1', 'alive']);
    queue.release('alive');
    expect(granted).toEqual(['gone1', 'alive']);
  });

  it('ignores a release from an owner that holds nothing', () => {
    const { queue, granted, ask } = queueOf(1);
    ask('a');
    ask('b');
    queue.release('b');
    expect(granted).toEqual(['a']);
  });
});

describe('hashingSlot, in one process', () => {
  it('gives up on a slot after the wait it was allowed, and never runs that task', async () => {
    const slot = hashingSlot();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders = Array.from({ length: hashesAtOnce() }, () => slot(() => held));
    let ranLate = false;
    await expect(
      slot(async () => {
        ranLate = true;
      }, 50),
    ).rejects.toBeInstanceOf(NoFreeSlotError);
    release();
    await Promise.all(holders);
    // The slots are free again, and the abandoned task did not take one.
    await expect(slot(async () => 'next', 50)).resolves.toBe('next');
    expect(ranLate).toBe(false);
  });

  it('gives the slot back when the task fails', async () => {
    const slot = hashingSlot();
    for (let i = 0; i <= hashesAtOnce(); i++) {
      await expect(slot(() => Promise.reject(new Error('argon2 failed')), 50)).rejects.toThrow('argon2 failed');
    }
    await expect(slot(async () => 'free', 50)).resolves.toBe('free');
  });
});
