import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

/**
 * How many argon2 hashes one instance runs at once, over all its processes:
 * half the cores, at least one. A hash holds a core for tens of
 * milliseconds; with every core hashing, a login flood would take the CPU
 * the reads and the database need.
 */
export function hashesAtOnce(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

const ACQUIRE = 'event-api:hash-slot-acquire';
const GRANT = 'event-api:hash-slot-grant';
const RELEASE = 'event-api:hash-slot-release';

interface SlotMessage {
  type: typeof ACQUIRE | typeof GRANT | typeof RELEASE;
  id?: number;
}

/** Slots granted first come, first served; an owner that goes away gives back what it held. */
export class SlotQueue<Owner> {
  private holders: Owner[] = [];
  private waiting: { owner: Owner; grant: () => void }[] = [];

  constructor(private readonly slots: number) {}

  acquire(owner: Owner, grant: () => void): void {
    this.waiting.push({ owner, grant });
    this.grantFree();
  }

  release(owner: Owner): void {
    const held = this.holders.indexOf(owner);
    if (held >= 0) this.holders.splice(held, 1);
    this.grantFree();
  }

  forget(owner: Owner): void {
    this.holders = this.holders.filter((holder) => holder !== owner);
    this.waiting = this.waiting.filter((waiter) => waiter.owner !== owner);
    this.grantFree();
  }

  private grantFree(): void {
    while (this.holders.length < this.slots && this.waiting.length > 0) {
      const { owner, grant } = this.waiting.shift()!;
      this.holders.push(owner);
      grant();
    }
  }
}

/** In the primary of cluster mode: the workers' hashing slots, shared by all of them. */
export function serveHashingSlots(slots = hashesAtOnce()): void {
  const queue = new SlotQueue<Worker>(slots);
  cluster.on('message', (worker: Worker, message: SlotMessage) => {
    if (message?.type === ACQUIRE) {
      queue.acquire(worker, () => {
        if (worker.isConnected()) worker.send({ type: GRANT, id: message.id });
      });
    } else if (message?.type === RELEASE) {
      queue.release(worker);
    }
  });
  cluster.on('exit', (worker) => queue.forget(worker));
}

/** No hashing slot came free in time: the request should be answered 503, without hashing. */
export class NoFreeSlotError extends Error {
  constructor() {
    super('No password-hashing slot came free in time');
  }
}

/**
 * Runs `task` in one of the instance's hashing slots (the primary's in
 * cluster mode, else this process's), or fails with NoFreeSlotError after
 * waiting `maxWaitMs` for one: a login whose client has given up (or has
 * had its 503) must not take a slot's hash from the logins still waiting.
 */
export type HashingSlot = <T>(task: () => Promise<T>, maxWaitMs?: number) => Promise<T>;

/**
 * Waits for a slot from `acquire` (which calls `granted` once it has one),
 * for `maxWaitMs` at most (then `cancel` withdraws the request), runs `task`
 * in it and gives it back with `release`.
 */
async function inSlot<T>(
  task: () => Promise<T>,
  maxWaitMs: number,
  acquire: (granted: () => void) => void,
  cancel: () => void,
  release: () => void,
): Promise<T> {
  await new Promise<void>((resolve, reject) => {
    const timer = Number.isFinite(maxWaitMs)
      ? setTimeout(() => {
          cancel();
          reject(new NoFreeSlotError());
        }, maxWaitMs)
      : undefined;
    acquire(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    return await task();
  } finally {
    release();
  }
}

export function hashingSlot(): HashingSlot {
  if (!cluster.isWorker) {
    const slots = new SlotQueue<number>(hashesAtOnce());
    let next = 0;
    return (task, maxWaitMs = Infinity) => {
      const owner = next++;
      return inSlot(
        task,
        maxWaitMs,
        (granted) => slots.acquire(owner, granted),
        () => slots.forget(owner),
        () => slots.release(owner),
      );
    };
  }
  const waiting = new Map<number, () => void>();
  let next = 0;
  const send = (message: SlotMessage) => {
    if (process.connected) process.send!(message);
  };
  process.on('message', (message: SlotMessage) => {
    if (message?.type !== GRANT || message.id === undefined) return;
    const granted = waiting.get(message.id);
    waiting.delete(message.id);
    // Granted after its request gave up: the slot goes straight back.
    if (granted) granted();
    else send({ type: RELEASE });
  });
  return (task, maxWaitMs = Infinity) => {
    // Cut off from the primary, the worker is on its way out: what it still does runs unqueued.
    if (!process.connected) return task();
    const id = next++;
    return inSlot(
      task,
      maxWaitMs,
      (granted) => {
        waiting.set(id, granted);
        send({ type: ACQUIRE, id });
      },
      () => waiting.delete(id),
      () => send({ type: RELEASE }),
    );
  };
}
