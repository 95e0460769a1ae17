#!/bin/sh
# Builds the sig tests' PKI and signed fixtures in DIR (test_sig.c runs it):
#   root CA -> intermediate -> code-signing leaf, a second "vendor" leaf, a leaf expired in
#   2021, a short-lived leaf (valid now, expired when the test verifies "a month later"),
#   an unrelated root, a TSA certificate; two mingw-w64 programs; and files signed with
#   osslsigncode in each state the verdicts must tell apart. The loopback TSA server is
#   started and killed here, bounded by `timeout`.
set -eu
D=$1
SRC=$(cd "$(dirname "$0")" && pwd)
cd "$D"
q() { "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; "$@" >&2 || true; exit 1; }; }

cat > ext.cnf <<'X'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[srv]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
[tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
[ ca_default ]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = pol
copy_extensions = none
unique_subject = no
[ pol ]
countryName = optional
organizationName = optional
commonName = supplied
X
cat > tsa.cnf <<'X'
[ tsa ]
default_tsa = t1
[ t1 ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha1, sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
X
echo 01 > tsaserial
mkdir -p newcerts; : > index.txt; echo 2001 > serial

key() { q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"; }
key root; key int; key leaf; key vendor; key expired; key short; key other; key tsa; key srv
q openssl req -x509 -new -key root.key -subj "/C=XX/O=Strain Test/CN=Strain Test Root CA" \
  -days 3650 -set_serial 0x1000 -config ext.cnf -extensions ca -out root.crt
q openssl req -x509 -new -key other.key -subj "/C=XX/O=Elsewhere/CN=Unrelated Root CA" \
  -days 3650 -set_serial 0x1000 -config ext.cnf -extensions ca -out other.crt
q openssl req -new -key int.key -subj "/C=XX/O=Strain Test/CN=Strain Test Code Signing CA" -out int.csr
q openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -set_serial 0x1001 -days 3650 \
  -extfile ext.cnf -extensions ca -out int.crt
q openssl req -new -key tsa.key -subj "/C=XX/O=Strain Test/CN=Strain Test TSA" -out tsa.csr
q openssl x509 -req -in tsa.csr -CA root.crt -CAkey root.key -set_serial 0x1002 -days 3650 \
  -extfile ext.cnf -extensions tsa -out tsa.crt
# The TSA's key under another name, same issuer and serial (so a token's SignerInfo still
# finds it) and same DER length: a token whose certificate is swapped for it still verifies
# with the key; only the ESS signingCertificate attribute tells the certificates apart.
q openssl req -new -key tsa.key -subj "/C=XX/O=Strain Test/CN=Strain Test TSB" -out tsa2.csr
q openssl x509 -req -in tsa2.csr -CA root.crt -CAkey root.key -set_serial 0x1002 -days 3650 \
  -extfile ext.cnf -extensions tsa -out tsa2.crt
# Leaves through `openssl ca` so validity can be set exactly (-startdate/-enddate).
leaf() { # name subject start end [extensions]
  q openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  q openssl ca -batch -config ext.cnf -name ca_default -cert int.crt -keyfile int.key \
    -extfile ext.cnf -extensions "${5:-leaf}" -startdate "$3" -enddate "$4" -in "$1.csr" \
    -out "$1.crt"
  cat "$1.crt" int.crt > "$1.chain.pem"
}
NOW=$(date -u +%s)
ts() { date -u -d "@$1" +%Y%m%d%H%M%SZ; }
leaf leaf "/C=XX/O=Strain Test/CN=Strain Test Signer" "$(ts $((NOW - 86400)))" "$(ts $((NOW + 3650 * 86400)))"
leaf vendor "/C=XX/O=Vendor Corp/CN=Vendor Corp Code Signing" "$(ts $((NOW - 86400)))" "$(ts $((NOW + 3650 * 86400)))"
leaf expired "/C=XX/O=Strain Test/CN=Strain Test Expired Signer" 20200101000000Z 20210101000000Z
leaf srv "/C=XX/O=Strain Test/CN=Strain Test Server Only" "$(ts $((NOW - 86400)))" "$(ts $((NOW + 3650 * 86400)))" srv
leaf short "/C=XX/O=Strain Test/CN=Strain Test Short-lived Signer" "$(ts $((NOW - 86400)))" "$(ts $((NOW + 2 * 86400)))"

# Two unsigned programs.
printf '#include <stdio.h>\nint main(void) { puts("strain sig fixture one"); return 0; }\n' > one.c
printf '#include <stdio.h>\nint main(void) { puts("strain sig fixture number two"); return 2; }\n' > two.c
q x86_64-w64-mingw32-gcc -O1 -s -o one.exe one.c
q x86_64-w64-mingw32-gcc -O1 -s -o two.exe two.c

sign() { # out in leaf hash extra...
  o=$1; i=$2; l=$3; h=$4; shift 4
  q osslsigncode sign -certs "$l.chain.pem" -key "$l.key" -h "$h" -n "Strain Fixture" \
    -i "https://strain.invalid/fixture" "$@" -in "$i" -out "$o"
}
sign valid.exe one.exe leaf sha256
sign valid2.exe two.exe leaf sha256
sign sha1.exe one.exe leaf sha1
sign md5.exe one.exe leaf md5
sign sha384.exe one.exe leaf sha384
sign sha512.exe one.exe leaf sha512
sign vendor.exe one.exe vendor sha256
sign pagehash.exe one.exe leaf sha256 -ph
sign pagehash1.exe one.exe leaf sha1 -ph
sign expired.exe one.exe expired sha256
sign serverauth.exe one.exe srv sha256
sign short_nots.exe one.exe short sha256
sign nested1.exe one.exe leaf sha1
sign nested.exe nested1.exe vendor sha256 -nest

# One byte of section data changed after signing (the middle of .text).
cp valid.exe patched.exe
printf '\001' | dd of=patched.exe bs=1 seek=1100 conv=notrunc 2>/dev/null
cp pagehash.exe pagehash_patched.exe
printf '\001' | dd of=pagehash_patched.exe bs=1 seek=1100 conv=notrunc 2>/dev/null

# valid.exe's whole certificate table grafted onto two.exe.
q osslsigncode extract-signature -in valid.exe -out valid.sig
cat > graft.py <<'X'
import struct, sys
src, sig, out = sys.argv[1:4]
data = bytearray(open(src, "rb").read())
blob = open(sig, "rb").read()
data += b"\0" * (-len(data) % 8)
off = len(data)
tab = struct.pack("<IHH", 8 + len(blob), 0x0200, 0x0002) + blob
tab += b"\0" * (-len(tab) % 8)
data += tab
pe = struct.unpack_from("<I", data, 0x3c)[0]
opt = pe + 24
magic = struct.unpack_from("<H", data, opt)[0]
dirs = opt + (96 if magic == 0x10b else 112)
struct.pack_into("<II", data, dirs + 4 * 8, off, len(tab))
open(out, "wb").write(data)
X
q /usr/bin/python3 graft.py two.exe valid.sig transplant.exe

# The signer's RSA signature (the only 256-byte OCTET STRING) with one bit flipped.
off=$(openssl asn1parse -inform DER -in valid.sig | awk -F: '/hl=4 l= 256 prim: OCTET STRING/ {print $1; exit}')
toff=$(/usr/bin/python3 -c "import pefile,sys; p=pefile.PE(sys.argv[1],fast_load=True); print(p.OPTIONAL_HEADER.DATA_DIRECTORY[4].VirtualAddress)" valid.exe)
cp valid.exe badsig.exe
pos=$((toff + 8 + off + 4 + 100))
b=$(od -An -tu1 -j "$pos" -N1 badsig.exe | tr -d ' ')
printf "$(printf '\\%03o' $(( (b + 1) % 256 )))" | dd of=badsig.exe bs=1 seek="$pos" conv=notrunc 2>/dev/null

# Timestamps from the loopback TSA (RFC 3161 and legacy), and a forged (unbound) token.
serve() { # mode
  rm -f port
  timeout 120 python3 "$SRC/tsa_server.py" "$D" "$1" "$D/port" &
  SRV=$!
  for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.1; done
  [ -s port ] || { kill "$SRV" 2>/dev/null; echo "TSA server did not start" >&2; exit 1; }
  PORT=$(cat port)
}
stop() { kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; }
serve good
trap stop EXIT
sign short_ts.exe one.exe short sha256 -ts "http://127.0.0.1:$PORT"
sign legacy_ts.exe one.exe short sha256 -t "http://127.0.0.1:$PORT"
stop
serve unbound
sign unbound_ts.exe one.exe short sha256 -ts "http://127.0.0.1:$PORT"
stop
trap - EXIT
# Forged timestamps: the TSA's own signature (the second 256-byte OCTET STRING, after the
# signer's) with one bit flipped; the signature and image stay intact.
flip2() { # in out
  q osslsigncode extract-signature -in "$1" -out "$1.sig"
  o2=$(openssl asn1parse -inform DER -in "$1.sig" | awk -F: '/hl=4 l= 256 prim: OCTET STRING/ {n++; if (n == 2) {print $1; exit}}')
  t2=$(/usr/bin/python3 -c "import pefile,sys; p=pefile.PE(sys.argv[1],fast_load=True); print(p.OPTIONAL_HEADER.DATA_DIRECTORY[4].VirtualAddress)" "$1")
  cp "$1" "$2"
  p2=$((t2 + 8 + o2 + 4 + 17))
  b2=$(od -An -tu1 -j "$p2" -N1 "$2" | tr -d ' ')
  printf "$(printf '\\%03o' $(( b2 ^ 1 )))" | dd of="$2" bs=1 seek="$p2" conv=notrunc 2>/dev/null
}
flip2 short_ts.exe forged_ts.exe
flip2 legacy_ts.exe forged_legacy_ts.exe
# ESS binding (RFC 3161 2.4.1, RFC 5035): short_ts.exe with the TSA certificate in its token
# swapped for tsa2.crt, byte for byte; ess_token.der / ts_token.der are the two tokens, cut
# out for `openssl ts -verify`.
q openssl x509 -in tsa.crt -outform DER -out tsa.der
q openssl x509 -in tsa2.crt -outform DER -out tsa2.der
cat > swap.py <<'X'
import sys
d = open(sys.argv[1], "rb").read()
a, b = open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
assert len(a) == len(b) and d.count(a) == 1, "TSA certificate not found once"
out = d.replace(a, b)
open(sys.argv[4], "wb").write(out)
# the token: the value of the 1.3.6.1.4.1.311.3.3.1 attribute (SET { ContentInfo })
def tlv(buf, i):
    n = buf[i + 1]
    if n < 0x80:
        return i + 2, n
    k = n & 0x7F
    return i + 2 + k, int.from_bytes(buf[i + 2:i + 2 + k], "big")
for src, name in ((d, "ts_token.der"), (out, "ess_token.der")):
    i = src.index(bytes.fromhex("060a2b0601040182370303 01".replace(" ", ""))) + 12
    i, _ = tlv(src, i)  # the SET
    j, n = tlv(src, i)  # the token
    open(name, "wb").write(src[i:j + n])
X
q /usr/bin/python3 swap.py short_ts.exe tsa.der tsa2.der ess_ts.exe
echo "$NOW" > now
echo ok
