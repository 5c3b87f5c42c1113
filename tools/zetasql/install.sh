#!/usr/bin/env bash
# Installs the ZetaSQL local service (a prebuilt GoogleSQL analyzer and
# reference evaluator that speaks gRPC) and the .proto files describing its
# API into an install directory (default: .tools/zetasql in the repository),
# for the offline BigQuery SQL checks in tests/bigquerysql and
# tools/zetasql.
#
# The binary ships inside the npm package @fivetrandevelopers/zetasql; we only
# keep the server for this machine (on Linux x86-64 lib/zetasql/remote_server.so,
# an executable despite its name) and lib/zetasql/protos. The package is
# fetched with `npm pack` through npm's own registry configuration.
#
# Layout (what tools/zetasql.FindInstall expects):
#   DIR/remote_server.so   the server; run as `remote_server.so localhost PORT`
#   DIR/protos/            local_service.proto and the zetasql/ protos it imports
#   DIR/VERSION            the npm package and version installed
#
# Idempotent: when DIR/VERSION already names the wanted version and
# the files are present, nothing is downloaded. Set ZETASQL_FORCE=1 to
# reinstall.
#
# Usage: tools/zetasql/install.sh [INSTALL_DIR]
set -euo pipefail

version="1.13.0"
package="@fivetrandevelopers/zetasql@${version}"

dest="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.tools/zetasql}"
stamp="${dest}/VERSION"

installed() {
	[[ -f "${stamp}" ]] &&
		[[ "$(cat "${stamp}")" == "${package}" ]] &&
		[[ -x "${dest}/remote_server.so" ]] &&
		[[ -f "${dest}/protos/local_service.proto" ]]
}

if [[ "${ZETASQL_FORCE:-0}" != "1" ]] && installed; then
	echo "zetasql: ${package} already installed in ${dest}"
	exit 0
fi

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) server="remote_server.so" ;;
Linux/aarch64 | Linux/arm64) server="remote_server_arm.so" ;;
Darwin/x86_64) server="remote_server" ;;
Darwin/arm64) server="remote_server_arm" ;;
*)
	echo "zetasql: no prebuilt server for $(uname -s)/$(uname -m)" >&2
	exit 1
	;;
esac

command -v npm >/dev/null || {
	echo "zetasql: npm is required to fetch ${package}" >&2
	exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

echo "zetasql: fetching ${package}"
(cd "${tmp}" && npm pack --silent "${package}" >/dev/null)
tarball="$(ls "${tmp}"/*.tgz)"
tar -xzf "${tarball}" -C "${tmp}" "package/lib/zetasql/${server}" package/lib/zetasql/protos

# Assemble next to the destination, then swap it in, so an interrupted install
# never leaves a half-populated directory that looks installed.
mkdir -p "$(dirname "${dest}")"
staging="${dest}.new"
rm -rf "${staging}"
mkdir -p "${staging}"
cp "${tmp}/package/lib/zetasql/${server}" "${staging}/remote_server.so"
chmod 0755 "${staging}/remote_server.so"
cp -R "${tmp}/package/lib/zetasql/protos" "${staging}/protos"
echo "${package}" >"${staging}/VERSION"
rm -rf "${dest}"
mv "${staging}" "${dest}"
echo "zetasql: installed ${package} in ${dest}"
