"""Second-factor methods: one folder per kind, registered in ``registry``."""
