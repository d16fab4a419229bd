import type { Logger } from '@tideline/runtime';
import { redisConnectionSpec } from '@tideline/stateful';
import type { InformerConfig } from '../config.ts';
import type { RegistrationDecryptError } from './cipher.ts';
import { registrationCipherFromConfig } from './key-config.ts';
import { RedisRegistrationStore } from './redis-store.ts';
import { InMemoryRegistrationStore, type RegistrationStore } from './store.ts';

/** The Redis hash of a deployment's runtime registrations (one per stateful namespace and bus prefix). */
export function registrationsKey(config: Pick<InformerConfig, 'statefulNamespace' | 'busPrefix'>): string {
  return `${config.statefulNamespace}:informer:${config.busPrefix}:registrations`;
}

/**
 * The registration store the configuration names (TIDELINE_INFORMER_REGISTRATION_STORE),
 * connected, and closed as the service's last stop step before the bus.
 */
export async function openRegistrationStore(options: {
  config: InformerConfig;
  instanceId: string;
  logger: Logger;
  onStop: (name: string, run: () => Promise<void> | void) => void;
  onUnreadable: (error: RegistrationDecryptError) => void;
}): Promise<RegistrationStore> {
  const { config, logger } = options;
  if (config.informerRegistrationStore === 'memory') return new InMemoryRegistrationStore();
  const store = new RedisRegistrationStore({
    ...redisConnectionSpec(config, {
      connectionName: `informer-${options.instanceId}`,
      onConnectionError: (error) =>
        logger.warn(
          { error: error.name, code: (error as NodeJS.ErrnoException).code },
          'registration store: Redis connection error',
        ),
    }),
    key: registrationsKey(config),
    cipher: registrationCipherFromConfig(config),
    onUnreadable: options.onUnreadable,
  });
  options.onStop('registration-store', () => store.close());
  await store.connect();
  return store;
}
