// Main → renderer events, typed by the contract. Transports subscribe and forward.
import type { EventMap, EventName } from '../contract/types.ts';

export type EventListener = <E extends EventName>(name: E, payload: EventMap[E]) => void;

export class EventBus {
  readonly #listeners = new Set<EventListener>();
  readonly #windows = new Set<EventListener>();
  /** Which events may reach the window now (while the app is locked, only the lock's own). */
  #forWindow: (name: EventName) => boolean = () => true;

  emit<E extends EventName>(name: E, payload: EventMap[E]): void {
    this.#deliver(this.#listeners, name, payload);
    if (this.#forWindow(name)) this.#deliver(this.#windows, name, payload);
  }

  #deliver<E extends EventName>(listeners: Set<EventListener>, name: E, payload: EventMap[E]): void {
    for (const listener of listeners) {
      try {
        listener(name, payload);
      } catch (e) {
        console.error(`[events] a listener of ${name} failed`, e);
      }
    }
  }

  /** Main's own listeners: they hear every event. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A transport to a window: it hears what the window may see now. */
  subscribeWindow(listener: EventListener): () => void {
    this.#windows.add(listener);
    return () => this.#windows.delete(listener);
  }

  setWindowFilter(filter: (name: EventName) => boolean): void {
    this.#forWindow = filter;
  }
}
