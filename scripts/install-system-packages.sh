#!/usr/bin/env bash
# Installs the Debian packages the bundle runs and tests against: the real Prometheus stack, venv
# support for Python, and Node.js for the seeds' own JavaScript clients. Installs with apt-get when it can (root and apt); otherwise says exactly what to
# install. Under CI (CI=true) a missing binary is an error, never a silent skip.
set -euo pipefail

packages=()
command -v prometheus >/dev/null || packages+=(prometheus)
command -v promtool >/dev/null || packages+=(prometheus)
command -v prometheus-pushgateway >/dev/null || packages+=(prometheus-pushgateway)
command -v prometheus-alertmanager >/dev/null || packages+=(prometheus-alertmanager)
command -v amtool >/dev/null || packages+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || packages+=(prometheus-node-exporter)
# Endpoint probes (the System Service's performance view) and the many-bridges storage backend.
command -v prometheus-blackbox-exporter >/dev/null || packages+=(prometheus-blackbox-exporter)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || packages+=(postgresql)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
command -v make >/dev/null || packages+=(make)
command -v docker-compose >/dev/null || packages+=(docker-compose)
# The seeds' Node.js/TypeScript clients run as written against the bridge in the tests.
command -v npm >/dev/null || packages+=(npm)
# Extra tools a target needs (`make bench` passes wrk): package and command share the name.
for extra in "$@"; do
    command -v "$extra" >/dev/null || packages+=("$extra")
done

if [ ${#packages[@]} -eq 0 ]; then
    exit 0
fi
# shellcheck disable=SC2207
packages=($(printf '%s\n' "${packages[@]}" | sort -u))

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian packages: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    # Debian enables the packaged services; where systemd runs they would hold the default ports on
    # 0.0.0.0. The bundle starts its own copies on loopback, so the units of the packages installed just
    # now are stopped and left disabled (units that were there before are not touched).
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        for unit in "${packages[@]}"; do
            case "$unit" in prometheus*) systemctl disable --now "$unit" >/dev/null 2>&1 || true ;; esac
        done
    fi
    exit 0
fi

echo "Missing Debian packages: ${packages[*]}" >&2
echo "Install them with:" >&2
echo "    sudo apt-get install --no-install-recommends ${packages[*]}" >&2
exit 1
