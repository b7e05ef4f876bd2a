#!/usr/bin/env bash
# Creates the project virtualenv (.venv) with Python 3.10 and installs the pinned requirements.
# Idempotent: does nothing when .venv is up to date with requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"

find_python() {
    # Rasa Open Source 3.6 needs Python 3.8-3.10; we standardise on 3.10.
    local candidate
    for candidate in "${PYTHON:-}" python3.10 "$(pyenv prefix 3.10 2>/dev/null)/bin/python"; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY=$(find_python); then
        cat >&2 <<'EOF'
ERROR: Python 3.10 was not found.
Rasa Open Source 3.6 runs on Python 3.8-3.10 only. Install Python 3.10 and run this again:
  - Debian/Ubuntu: sudo apt-get install python3.10 python3.10-venv
  - macOS (Homebrew): brew install python@3.10
  - pyenv: pyenv install 3.10
Or point to an interpreter: make run PYTHON=/path/to/python3.10
EOF
        exit 1
    fi
    echo "==> Creating virtualenv $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

if [ ! -f "$STAMP" ] || [ requirements.txt -nt "$STAMP" ]; then
    echo "==> Installing pinned requirements (first time: a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    touch "$STAMP"
fi

# The Dutch spaCy model is published only as a release file of spaCy's model repository.
# Try it once (quickly) where that is reachable; otherwise the pipeline uses spaCy's
# rule-based Dutch (see components/dutch_spacy.py). A failed attempt is remembered.
MODEL_STAMP="$VENV/.spacy-model-tried"
if [ ! -f "$MODEL_STAMP" ] && [ "${BACKBOT_SKIP_SPACY_DOWNLOAD:-0}" != "1" ]; then
    if ! "$VENV/bin/python" -c 'import nl_core_news_sm' 2>/dev/null; then
        echo "==> Trying to install the Dutch spaCy model nl_core_news_sm 3.4"
        if PIP_RETRIES=0 PIP_TIMEOUT=15 timeout 120 "$VENV/bin/python" -m spacy download \
            nl_core_news_sm-3.4.0 --direct >/dev/null 2>&1; then
            echo "    installed nl_core_news_sm"
        else
            echo "    not reachable: using spaCy's rule-based Dutch (tokenizer, stop words, lookup lemmas)"
        fi
    fi
    touch "$MODEL_STAMP"
fi

# The website widget: rasa-webchat from the npm registry, exactly as web/package-lock.json says.
WEB_STAMP=web/node_modules/.installed
if [ ! -f "$WEB_STAMP" ] || [ web/package-lock.json -nt "$WEB_STAMP" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "==> Installing the website chat widget (rasa-webchat, from web/package-lock.json)"
        (cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
        touch "$WEB_STAMP"
    else
        echo "    npm not found: the demo page at :8080 will say the chat is unavailable." >&2
        echo "    Install Node.js 18 or newer (with npm) and run 'make install' again." >&2
    fi
fi

# The browser tests drive Debian's chromium (Playwright cannot download a browser here).
if ! command -v chromium >/dev/null 2>&1 && [ "${BACKBOT_SKIP_BROWSER_INSTALL:-0}" != "1" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> Installing chromium for the browser tests (apt)"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; then
            apt-get update -q >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 ||
                echo "    could not install chromium: the browser tests will be skipped (CI: failed)" >&2
        fi
    else
        echo "    chromium not found and not installable here (needs root and apt): the browser tests" >&2
        echo "    will be skipped. Debian/Ubuntu: sudo apt-get install chromium" >&2
    fi
fi

# The production profile (`make prod`, tests/test_prod.py) puts Debian's nginx in front of the instances.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && [ "${BACKBOT_SKIP_NGINX_INSTALL:-0}" != "1" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> Installing nginx for the production profile (apt)"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null 2>&1; then
            apt-get update -q >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null 2>&1 ||
                echo "    could not install nginx: the production tests will be skipped (CI: failed)" >&2
        fi
        # Debian starts the packaged site where it can; the profile runs its own nginx.
        (command -v service >/dev/null 2>&1 && service nginx stop >/dev/null 2>&1) || true
    else
        echo "    nginx not found and not installable here (needs root and apt): make prod and its tests" >&2
        echo "    need it. Debian/Ubuntu: sudo apt-get install nginx-light" >&2
    fi
fi

touch "$STAMP"
