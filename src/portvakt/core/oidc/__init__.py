"""The OpenID Connect provider: apps (clients), authorization, tokens, keys and logout.

OAuth and JOSE mechanics use joserfc (JWS/JWT signing and validation, JWK and JWKS); what is
here is Portvakt's policy: which requests are acceptable, what a sign-in proves, and how long
anything lives."""
