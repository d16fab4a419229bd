import { loadConfigOrExit, port } from '../src/index.ts';

loadConfigOrExit({ port: port({ env: 'TIDELINE_T_PORT', default: 3000, doc: 'port' }) });
process.stdout.write('started\n');
