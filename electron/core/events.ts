// Main → renderer events, typed by the contract. Transports subscribe and forward.
import type { EventMap, EventName } from '../contract/types.ts';

export type EventListener = <E extends EventName>(name: E, payload: EventMap[E]) => void;

export class EventBus {
  readonly #listeners = new Set<EventListener>();

  emit<E extends EventName>(name: E, payload: EventMap[E]): void {
    for (const listener of this.#listeners) {
      try {
        listener(name, payload);
      } catch (e) {
        console.error(`[events] a listener of ${name} failed`, e);
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
