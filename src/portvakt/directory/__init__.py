"""Who the person is: the local directory (argon2id) now, LDAP later, behind one protocol."""
