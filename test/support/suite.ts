import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from './server.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';

/**
 * Shared set-up of the integration suites: call at the top of a file; the returned object's
 * fields are filled by beforeAll and torn down by afterAll.
 */

/** The real server with real mail: a loopback SMTP server it delivers to. */
export function useServerWithMail(env: Record<string, string> = {}): { server: TestServer; smtp: TestSmtpServer } {
  const suite = {} as { server: TestServer; smtp: TestSmtpServer };
  beforeAll(async () => {
    suite.smtp = await startSmtpServer();
    suite.server = await startTestServer({ SMTP_URL: suite.smtp.url, ...env });
  });
  afterAll(async () => {
    await suite.server?.stop();
    await suite.smtp?.close();
  });
  return suite;
}

/** Two replicas on one database, as in production behind a load balancer. */
export function useTwoReplicas(env: Record<string, string> = {}): { a: TestServer; b: TestServer } {
  const suite = {} as { a: TestServer; b: TestServer };
  beforeAll(async () => {
    suite.a = await startTestServer(env);
    suite.b = await startTestServer(env, { shareDatabaseWith: suite.a });
  });
  afterAll(async () => {
    await suite.b?.stop();
    await suite.a?.stop();
  });
  return suite;
}
