/**
 * Creates an embedded database cluster in the directory given as the only argument, then exits
 * (run by `createPGliteExecutor` in a child process on a first start; see sql.ts for why).
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_START_PARAMS } from './sql.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: initdb.js <dataDir>\n');
  process.exit(2);
}
const db = await PGlite.create({ dataDir, startParams: PGLITE_START_PARAMS });
await db.close();
