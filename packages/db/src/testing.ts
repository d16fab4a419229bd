import { TestDatabase } from '@tideline/test-support';
import { migrate } from './migrator.ts';

/** A throwaway database with every migration applied; dropped on dispose. */
export async function migratedTestDatabase(prefix = 'tideline_db_test'): Promise<TestDatabase> {
  const database = await TestDatabase.create(prefix);
  try {
    await migrate({ url: database.url });
  } catch (error) {
    await database[Symbol.asyncDispose]();
    throw error;
  }
  return database;
}
