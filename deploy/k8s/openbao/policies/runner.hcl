# Runner: no access to exchange credentials or to the fingerprint key. The deny rules are
# explicit so that a later, broader policy attached by mistake still cannot grant access.
path "secret/*" {
  capabilities = ["deny"]
}

path "transit/*" {
  capabilities = ["deny"]
}
