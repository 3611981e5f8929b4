"""Human texts for the stable error codes of ``portvakt.errors`` (translated when shown)."""

from __future__ import annotations

from portvakt.web.i18n import N_

ERRORS: dict[str, str] = {
    "invalid_credentials": N_("The username or password is incorrect."),
    "wrong_code": N_("That code didn't work. Check the code in your app and try again."),
    "code_format": N_("Enter the code from your app: 6 or 8 digits."),
    "claim_failed": N_(
        "That token could not be added. Check the serial number and the codes, and that the "
        "token was given to you and not to someone else."
    ),
    "factor_locked": N_(
        "Too many wrong codes. For your security, wait %(minutes)s minutes and try again."
    ),
    "factor_blocked": N_(
        "Too many wrong codes. Sign-in with a second factor is blocked; contact your helpdesk."
    ),
    "rate_limited": N_("Too many attempts. Wait %(minutes)s minutes and try again."),
    "enrollment_tries": N_("Too many wrong codes. Start adding the method again."),
    "credential_expired": N_(
        "That pass has expired. Ask your helpdesk for a new one, or sign in another way."
    ),
    "credential_used_up": N_(
        "That pass has been used up. Ask your helpdesk for a new one, or sign in another way."
    ),
    "finish_adding_first": N_(
        "You signed in with a temporary access pass: finish adding a sign-in method first, "
        "then sign in again with it."
    ),
    "signin_expired": N_("Your sign-in has expired or was not found. Please sign in again."),
    "wrong_stage": N_("This step of the sign-in is not available. Please sign in again."),
    "activation_required": N_("You must add a sign-in method before you continue."),
    "last_method": N_(
        "You can't remove your only sign-in method while two-step verification is required."
    ),
    "invalid_label": N_("Enter a name of 1 to 64 characters."),
    "invalid_form": N_("The form was not filled in correctly. Check the fields and try again."),
    "invalid_request": N_("The request is not valid. Check its fields and values."),
    "nul": N_(
        "The request contains a character that is not allowed (NUL). Check the link or the "
        "form and try again."
    ),
    "csrf": N_("This form has expired. Reload the page and try again."),
    "too_large": N_("The request is too large."),
    "not_found": N_("The page was not found."),
    "method_not_found": N_("That sign-in method was not found."),
    "enrollment_not_found": N_("That setup has expired. Start adding the method again."),
    "device_not_found": N_("That device was not found."),
    "kind_not_allowed": N_("That kind of sign-in method is not available."),
    "cannot_be_default": N_("That method can't be your default sign-in method."),
    "passkey_refused": N_(
        "That passkey could not sign you in. Sign in with your username and password instead."
    ),
    "passkey_expired": N_("The sign-in page was open too long. Try the passkey again."),
    "already_registered": N_("That key is already registered. Use another one."),
    "answer_format": N_("That answer could not be read. Try again or sign in another way."),
    "wrong_answer": N_("That didn't work. Try again or sign in another way."),
    "unknown_credential": N_(
        "That sign-in method is not registered to your account. Use one you have added."
    ),
    "not_pending": N_("This request has already been used or has ended. Start again."),
    "expired": N_("The request expired. Start again."),
    "replay": N_("That answer was already used. Start again."),
    "too_many_attempts": N_("Too many wrong codes for this request. Ask for a new code."),
    "phone_required": N_("Enter your mobile phone number."),
    "phone_invalid": N_(
        "That is not a valid mobile phone number. Check it, and include the country code "
        "(such as +47) for a number from another country."
    ),
    "phone_country": N_(
        "Codes can't be sent to phone numbers in that country. Use a number from a country "
        "this service sends to, or choose another method."
    ),
    "code_resend": N_("A code was sent just now. Wait a moment before you ask for a new one."),
    "send_budget": N_("Too many codes were sent. Try again later, or sign in another way."),
    "not_ready": N_("Not yet: approve the test request in the app, then continue."),
    "channel_unavailable": N_(
        "The code cannot be sent right now. Sign in another way, or ask your service desk."
    ),
    "method_not_allowed": N_("That action is not allowed here."),
    "step_up_required": N_("Confirm it's you with a code before you change your security info."),
    "server_error": N_("Something went wrong on our side. Please try again."),
    "push_expired": N_("The request expired before it was approved. Try again."),
    "push_denied": N_("The request was denied in the app. Nothing more was sent."),
    "push_failed": N_("The request could not be approved. Try again or sign in another way."),
    "push_wrong_number": N_(
        "The number entered in the app did not match. Try again or sign in another way."
    ),
    "push_superseded": N_("A newer sign-in request replaced this one."),
    "push_used": N_("This request has already been used."),
    "push_not_found": N_("That request was not found. Please sign in again."),
    "push_paused": N_(
        "Push requests are paused for your account after a reported sign-in attempt. "
        "Sign in another way, or wait %(minutes)s minutes."
    ),
    "push_rate_limited": N_(
        "Too many push requests without a sign-in. Sign in another way, or wait %(minutes)s "
        "minutes."
    ),
    "push_cooldown": N_(
        "Requests were denied in the app. Sign in another way, or wait %(minutes)s minutes."
    ),
    "unknown_client": N_(
        "The app that sent you here is not registered with this sign-in service. "
        "Tell the app's administrator."
    ),
    "redirect_uri_missing": N_(
        "The app's sign-in link is incomplete (no redirect URI). Tell the app's administrator."
    ),
    "redirect_uri_mismatch": N_(
        "The app's sign-in link points to an address that is not registered for it, so you "
        "were not sent there. Tell the app's administrator."
    ),
    "authorization_expired": N_(
        "The app's sign-in request has expired or was not found. Go back to the app and "
        "start again."
    ),
    "invalid_id_token_hint": N_(
        "The sign-out link is not valid. You are still signed in; sign out from the account "
        "page if you want to."
    ),
    "post_logout_uri_mismatch": N_(
        "The sign-out link points to an address that is not registered for the app, so you "
        "were not sent there."
    ),
}


def error_text(code: str) -> str:
    return ERRORS.get(code, ERRORS["invalid_form"])
