/**
 * `npm start`: the server with the embedded database launcher, so a fresh checkout runs without
 * MONGODB_URI. Production images run handlers/main.ts directly and need MONGODB_URI.
 *
 * The `start` script `exec`s node, so npm's shell is replaced by this process and the SIGTERM or
 * SIGINT npm forwards reaches the server (without `exec`, dash would die and leave the server
 * running, re-parented to init). If npm itself is killed (SIGKILL), this process notices that its
 * parent changed and shuts down as on SIGTERM: the server and its database live and die with
 * `npm start`.
 */
import { exitOnStartFailure, runServer } from '../handlers/main.ts';
import { startLocalMongo } from './local-mongo.ts';

if (process.env.npm_lifecycle_event === 'start') {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM'); // the server's own graceful shutdown
  }, 500);
  watch.unref();
}

runServer({ startEmbeddedDatabase: startLocalMongo }).catch(exitOnStartFailure);
