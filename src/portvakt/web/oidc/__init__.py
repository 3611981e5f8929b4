"""The OpenID Connect door: discovery, JWKS, authorization, token, UserInfo, introspection,
revocation and logout endpoints over ``portvakt.core.oidc``."""
