#!/bin/sh
# Creates the secrets deploy/compose.yaml reads, once. Existing files are kept (rotating the
# encryption key would make the stored signing keys unreadable).
set -eu
cd "$(dirname "$0")"
mkdir -p secrets
umask 077
make_secret() { [ -s "secrets/$1" ] || { sh -c "$2" > "secrets/$1"; echo "created secrets/$1"; }; }
make_secret scaikey_encryption_key 'openssl rand -base64 32'
make_secret mongo_keyfile 'openssl rand -base64 756'
make_secret mongo_root_password 'openssl rand -hex 24'
make_secret mongo_app_password 'openssl rand -hex 24'
