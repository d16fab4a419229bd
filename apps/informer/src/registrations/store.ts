/** A cluster registered over the HTTP API, as it is kept across restarts. */
export interface StoredRegistration {
  name: string;
  /** The kubeconfig text as registered (checked against the API policy again when restored). */
  kubeconfig: string;
  context?: string | undefined;
  /** ISO 8601 time of the registration. */
  registeredAt: string;
}

/**
 * Where runtime registrations live. Implementations keep the kubeconfig encrypted at rest; a
 * `put` of a name that exists replaces it.
 */
export interface RegistrationStore {
  put(registration: StoredRegistration): Promise<void>;
  remove(name: string): Promise<void>;
  list(): Promise<StoredRegistration[]>;
}

/** Registrations in this process only (unit tests, and TIDELINE_INFORMER_REGISTRATION_STORE=memory). */
export class InMemoryRegistrationStore implements RegistrationStore {
  private readonly entries = new Map<string, StoredRegistration>();

  async put(registration: StoredRegistration): Promise<void> {
    this.entries.set(registration.name, { ...registration });
  }

  async remove(name: string): Promise<void> {
    this.entries.delete(name);
  }

  async list(): Promise<StoredRegistration[]> {
    return [...this.entries.values()].map((r) => ({ ...r })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}
