#!/usr/bin/env bash
# Refresh the web interface's vendored JavaScript from the npm registry, pinned.
#
# The app never fetches anything at run time: these files ship inside the package
# (api/web/static/vendor/), each with its licence. To upgrade, change VERSION and
# INTEGRITY (from `npm view hash-wasm@X dist.integrity`), run this script, run the browser
# tests, and commit the result. npm checks the tarball against the registry's integrity;
# this script checks it against the pinned one as well.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=hash-wasm
VERSION=4.13.0
INTEGRITY='sha512-GrWl7wsV46fKIXQZB5ebskLZLAmKL6d9RS0fspCxDeQyjoNu1AfTJTMLPOJyfzaQm0ldFiwFN21/w+sE/kgEFQ=='
FILES=(dist/sha256.umd.min.js dist/blake3.umd.min.js LICENSE)
DEST=api/web/static/vendor/hash-wasm

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball="$work/$PACKAGE-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "integrity mismatch for $PACKAGE@$VERSION: got $actual" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$DEST"
rm -f "$DEST"/*
for f in "${FILES[@]}"; do
    cp "$work/package/$f" "$DEST/$(basename "$f")"
done
{
    echo "$PACKAGE $VERSION (npm), $INTEGRITY"
    echo "refreshed by scripts/refresh-web-assets.sh; licence: LICENSE (MIT)"
} > "$DEST/VERSION"
(cd "$DEST" && sha256sum $(for f in "${FILES[@]}"; do basename "$f"; done) VERSION > SHA256SUMS)
echo "vendored $PACKAGE@$VERSION into $DEST:"
cat "$DEST/SHA256SUMS"
