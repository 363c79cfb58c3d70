import type { TagHandlers } from '../core/operation-types.ts';
import type { SigningKeys } from '../domain/tokens/signing-keys.ts';

/** Discovery: the public keys that verify access tokens. */
export function discoveryHandlers({ signingKeys }: { signingKeys: SigningKeys }): TagHandlers<'Discovery'> {
  return {
    getJwks: async () => ({
      status: 200,
      body: (await signingKeys.jwks()) as never,
      headers: { 'Cache-Control': 'public, max-age=300' },
    }),
  };
}
