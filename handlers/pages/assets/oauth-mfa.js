// The OpenID provider's second-factor page: the form posts a code as it is (no script needed);
// for a security key or passkey this runs the WebAuthn ceremony first (POST …/mfa/webauthn/begin
// with the flow's mfa_token, then navigator.credentials.get) and posts the assertion instead.
import { getAssertion, isCancelled, webauthnSupported } from './webauthn.js';

const form = document.querySelector('form.oauth-mfa');
const method = document.getElementById('method');
const code = document.getElementById('code');
const data = JSON.parse(document.getElementById('page-data').textContent || '{}');

function showCodeField() {
  const webauthn = method.value === 'webauthn';
  code.closest('.field').hidden = webauthn;
  code.required = !webauthn;
}

if (form && method && code) {
  if (!webauthnSupported()) {
    const option = method.querySelector('option[value="webauthn"]');
    if (option) option.remove();
  }
  method.addEventListener('change', showCodeField);
  showCodeField();
  let asserted = false;
  const verify = form.querySelector('button[value="mfa"]');
  form.addEventListener('submit', async (event) => {
    if (asserted || method.value !== 'webauthn' || event.submitter?.value === 'send_email') return;
    event.preventDefault();
    const error = document.getElementById('form-error-live');
    try {
      const query = new URLSearchParams({ mfa_token: form.elements.mfa_token.value, user_id: form.elements.user_id.value });
      const response = await fetch(`${data.webauthnBegin}?${query}`, { method: 'POST', headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error('begin failed');
      const reply = await response.json();
      const challenge = reply.data ?? reply;
      form.elements.credential.value = JSON.stringify(await getAssertion(challenge.options));
      form.elements.challenge_id.value = challenge.challenge_id;
      asserted = true;
      form.requestSubmit(verify);
    } catch (failure) {
      error.textContent = isCancelled(failure) ? data.cancelled : data.failed;
    }
  });
}
