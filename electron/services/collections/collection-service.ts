// Collections of documents (a matter, a patient): create, rename, delete, membership; every
// change is announced with the whole list.
import { UserFacingError } from '../../contract/errors.ts';
import type { Collection } from '../../contract/types.ts';
import type { DocumentLibrary } from '../documents/document-library.ts';
import type { RetrievalStore } from '../store/retrieval-store.ts';

export class CollectionService {
  readonly #store: RetrievalStore;
  readonly #documents: DocumentLibrary;
  readonly #onChanged: (list: Collection[]) => void;

  constructor(deps: { store: RetrievalStore; documents: DocumentLibrary; onChanged: (list: Collection[]) => void }) {
    this.#store = deps.store;
    this.#documents = deps.documents;
    this.#onChanged = deps.onChanged;
  }

  #require(id: string): Collection {
    const c = this.#store.getCollection(id);
    if (!c) throw new UserFacingError('collection/not-found', 'That collection no longer exists.');
    return c;
  }

  #changed(): void {
    this.#onChanged(this.list());
  }

  list(): Collection[] {
    return this.#store.listCollections();
  }

  /** Two collections of one name could not be told apart (in the chat's "Answer from", in tasks). */
  #assertNameFree(name: string, except: string | null = null): void {
    const taken = this.#store.listCollections().find((c) => c.id !== except && c.name.localeCompare(name, undefined, { sensitivity: 'accent' }) === 0);
    if (taken) throw new UserFacingError('collection/name-taken', `There is already a collection named “${taken.name}”. Choose another name.`);
  }

  create(name: string): Collection {
    this.#assertNameFree(name);
    const created = this.#store.createCollection(name);
    this.#changed();
    return created;
  }

  rename(collectionId: string, name: string): Collection {
    this.#require(collectionId);
    this.#assertNameFree(name, collectionId);
    this.#store.renameCollection(collectionId, name);
    this.#changed();
    return this.#require(collectionId);
  }

  /** Tells the windows the collections changed (a document in them was deleted). */
  announce(): void {
    this.#changed();
  }

  delete(collectionId: string): { deleted: true } {
    this.#require(collectionId);
    this.#store.deleteCollection(collectionId);
    this.#changed();
    return { deleted: true };
  }

  setMembership(collectionId: string, documentId: string, member: boolean): Collection {
    this.#require(collectionId);
    const doc = this.#documents.get(documentId); // must exist
    if (member && doc.status === 'failed') {
      throw new UserFacingError('document/not-ready', `“${doc.title}” could not be read, so it cannot be searched: add it again, or a readable copy, before putting it in a collection.`);
    }
    this.#store.setMembership(collectionId, documentId, member);
    this.#changed();
    return this.#require(collectionId);
  }
}
