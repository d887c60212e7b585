#!/usr/bin/env bash
# Idempotent setup of everything siteward needs on a Debian machine:
#   Debian packages (browsers, WebKit WebDriver, Xvfb, CJK fonts, Node),
#   Node tools from package-lock.json (Lighthouse, Lighthouse CI, React + esbuild),
#   the demo shop's React storefront bundle (siteward/shop/static/app/),
#   the Python environment in .venv (siteward itself, editable, with test extras).
# Each part is skipped when already done, so `make demo` / `make test` call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------------
# nginx-light: the static calibration target of the load benchmark and saturation test.
# postgresql: the tests of the shared history start a server of their own (tests/pg_server.py).
APT_PACKAGES=(chromium firefox-esr webkit2gtk-driver xvfb fonts-noto-cjk fontconfig ca-certificates nginx-light openssl postgresql)
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Node tools (Lighthouse, Lighthouse CI, React, esbuild) from the committed lockfile
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node tools (npm ci)"
  # Lighthouse uses Debian's Chromium; nothing may download a browser of its own.
  # --include=dev: React and esbuild (devDependencies) build the storefront bundle below.
  PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 npm ci --include=dev --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi

# --- The demo shop's React storefront (/app/): bundled by esbuild from node_modules ----
# Rebuilt when its sources, package.json or the lockfile are newer than the bundle.
STOREFRONT_BUNDLE=siteward/shop/static/app/app.js
if [ ! -f "$STOREFRONT_BUNDLE" ] || [ package-lock.json -nt "$STOREFRONT_BUNDLE" ] \
   || [ package.json -nt "$STOREFRONT_BUNDLE" ] \
   || [ -n "$(find siteward/shop/storefront/src -newer "$STOREFRONT_BUNDLE" -print -quit)" ]; then
  say "building the storefront bundle (esbuild)"
  npm run --silent build:storefront
fi

# --- Python environment ---------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.siteward-installed ] || [ pyproject.toml -nt .venv/.siteward-installed ]; then
  say "installing siteward and its Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch .venv/.siteward-installed
fi

# --- The visual diff's compiled kernel: numba caches it in browsers/__pycache__ -----------
if [ ! -f .venv/.pixelkernel-compiled ] || [ browsers/pixelkernel.py -nt .venv/.pixelkernel-compiled ] \
   || [ .venv/.siteward-installed -nt .venv/.pixelkernel-compiled ]; then
  say "compiling the visual diff kernel (numba, about 15 s once)"
  .venv/bin/python -c "from browsers.pixelkernel import warm_up; warm_up()"
  touch .venv/.pixelkernel-compiled
fi
