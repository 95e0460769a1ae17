#!/usr/bin/env bash
# `strain info --ca FILE`: Debian's grub is signed by the Debian Secure Boot CA, which is not
# in the system bundle (untrusted-root, as osslsigncode says in signed.tsv) but is the
# certificate shim embeds; given as --ca, the same signature verifies (signed.tsv:
# verify_with_extra_ca ok). An unreadable --ca is a usage error, not a silent downgrade.
set -euo pipefail
: "${STRAIN_BIN:?}" "${STRAIN_SOURCE_DIR:?}"
dir=${STRAIN_SIGNED_DIR:-$HOME/.cache/strain-corpus/signed}/debian
shim=$dir/shim-signed/usr/lib/shim/shimx64.efi.signed
grub=$dir/grub-efi-amd64-signed/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
if [[ ! -f "$shim" || ! -f "$grub" ]]; then
  [[ "${STRAIN_REQUIRE_CORPUS:-0}" == 1 ]] && { echo "Debian signed images missing in $dir"; exit 1; }
  echo "signed images not fetched: skipped"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$STRAIN_SOURCE_DIR/tests/unit/sig/vendor_cert.py" "$shim" |
  openssl x509 -inform DER -out "$tmp/debian-ca.pem"
verdict() {
  "$STRAIN_BIN" info --json "$@" "$grub" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["signatures"][0]["verdict"])'
}
without=$(verdict)
with=$(verdict --ca "$tmp/debian-ca.pem")
echo "system bundle: $without; --ca Debian CA: $with"
[[ "$without" == untrusted-root ]]
[[ "$with" == valid ]]
rc=0
"$STRAIN_BIN" info --ca "$tmp/missing.pem" "$grub" >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--ca" "$tmp/err"
echo ok
