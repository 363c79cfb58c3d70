#!/bin/sh
# Creates the secrets deploy/compose.yaml reads, once. Existing files are kept (a new encryption
# key would make the signing keys stored in MongoDB unreadable).
#
# Compose bind-mounts file secrets with their host owner and mode, and the API runs as the
# image's unprivileged `node` user, so the files are world-readable (0644) inside a directory only
# the owner can enter (0700): other users of the host cannot reach them.
set -eu
cd "$(dirname "$0")"
mkdir -p secrets
chmod 700 secrets
make_secret() {
  [ -s "secrets/$1" ] && return 0
  (umask 022 && sh -c "$2" > "secrets/$1")
  echo "created secrets/$1"
}
make_secret scaikey_encryption_key 'openssl rand -base64 32'
make_secret mongo_keyfile 'openssl rand -base64 756'
make_secret mongo_root_password 'openssl rand -hex 24'
make_secret mongo_app_password 'openssl rand -hex 24'
