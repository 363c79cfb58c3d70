/** Pluggable captcha check; off unless a verifier is configured. */
export interface CaptchaVerifier {
  verify(token: string | null | undefined, clientIp: string): Promise<boolean>;
}

export const noCaptcha: CaptchaVerifier = { verify: async () => true };
