/**
 * `npm start`: the server with the embedded database launcher, so a fresh checkout runs without
 * MONGODB_URI. Production images run handlers/main.ts directly and need MONGODB_URI.
 */
import { exitOnStartFailure, runServer } from '../handlers/main.ts';
import { startLocalMongo } from './local-mongo.ts';

runServer({ startEmbeddedDatabase: startLocalMongo }).catch(exitOnStartFailure);
