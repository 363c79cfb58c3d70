import type { Services } from '../domain/services.ts';
import type { OperationHandlers } from '../server/operation-types.ts';

export function discoveryHandlers(services: Services): Pick<OperationHandlers, 'getJwks'> {
  return {
    getJwks: async () => ({
      status: 200,
      body: (await services.signingKeys.jwks()) as never,
      headers: { 'Cache-Control': 'public, max-age=300' },
    }),
  };
}
