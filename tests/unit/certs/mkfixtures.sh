#!/bin/sh
# Builds the certificate-intelligence fixtures in DIR (test_certs.c runs it). The PKI and the
# signing helpers' certificates come from the sig tests' script (tests/unit/sig/mkfixtures.sh,
# run first, not duplicated): root -> intermediate -> leaves "vendor" (Vendor Corp, the
# certificate to be "stolen"), "leaf" (Strain Test Signer) and "short". Here: programs with
# clearly different code, signed with those leaves by osslsigncode:
#   vendor_tool1/2.exe  two clean vendor tools sharing a vendor library   (vendor)
#   actor_x.exe         an actor's user-mode sample                       (vendor)
#   driver.sys          a kernel driver (native subsystem, ntoskrnl import, no CRT) (vendor)
#   clean_other.exe     a clean program of another vendor                 (short)
#   actor_y.exe, actor_x2.exe  samples of two actors                      (leaf)
#   s_long.exe          signed by a certificate whose subject is ~1.7 KB      (long)
set -eu
D=$1
SRC=$(cd "$(dirname "$0")" && pwd)
sh "$SRC/../sig/mkfixtures.sh" "$D" >/dev/null
cd "$D"
q() { "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; "$@" >&2 || true; exit 1; }; }

# The vendor's library: a few hundred lines of table-driven code both vendor tools link, so
# they share real code with each other and nothing with the driver.
cat > vendorlib.c <<'X'
#include <stdio.h>
#include <string.h>
unsigned vendor_crc(const unsigned char *p, size_t n)
{
    unsigned c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}
static const char *const vendor_msgs[] = {
    "Vendor Corp Toolkit 4.2 (c) Vendor Corp", "license check passed", "license check failed",
    "configuration loaded from %s", "update channel: stable", "telemetry disabled by policy",
    "scanning %s", "quarantine folder %s", "signature database version %u", "engine ready",
};
void vendor_log(unsigned id, const char *arg)
{
    if (id < sizeof(vendor_msgs) / sizeof(vendor_msgs[0])) { printf(vendor_msgs[id], arg); puts(""); }
}
int vendor_parse_kv(const char *line, char *k, char *v, size_t cap)
{
    const char *eq = strchr(line, '=');
    if (!eq || (size_t)(eq - line) >= cap || strlen(eq + 1) >= cap) return -1;
    memcpy(k, line, (size_t)(eq - line)); k[eq - line] = 0; strcpy(v, eq + 1);
    return 0;
}
X
for i in 1 2; do
  cat > vendor_tool$i.c <<X
#include <stdio.h>
unsigned vendor_crc(const unsigned char *p, unsigned long long n);
void vendor_log(unsigned id, const char *arg);
int vendor_parse_kv(const char *line, char *k, char *v, unsigned long long cap);
int main(int argc, char **argv)
{
    char k[64], v[64];
    vendor_log(0, "");
    vendor_log($i, argc > 1 ? argv[1] : "default.cfg");
    if (argc > 2 && vendor_parse_kv(argv[2], k, v, sizeof(k)) == 0) vendor_log(3, k);
    printf("tool $i crc %08x\n", vendor_crc((const unsigned char *)argv[0], 4));
    return 0;
}
X
  q x86_64-w64-mingw32-gcc -O1 -s -o vendor_tool$i.exe vendor_tool$i.c vendorlib.c
done
printf '#include <stdio.h>\nint main(void) { puts("actor x implant stage one"); return 7; }\n' > actor_x.c
printf '#include <stdio.h>\nint main(void) { puts("actor x implant stage two, new family"); return 8; }\n' > actor_x2.c
printf '#include <stdio.h>\nint main(void) { puts("actor y loader"); return 9; }\n' > actor_y.c
printf '#include <stdio.h>\nint main(void) { puts("another vendor, clean"); return 0; }\n' > clean_other.c
for p in actor_x actor_x2 actor_y clean_other; do
  q x86_64-w64-mingw32-gcc -O1 -s -o $p.exe $p.c
done
# A kernel driver as the linker makes one: native subsystem, DriverEntry, ntoskrnl import.
cat > driver.c <<'X'
typedef long NTSTATUS;
__declspec(dllimport) unsigned long DbgPrint(const char *fmt, ...);
static volatile unsigned char filter_state[256];
static void filter(const unsigned char *pkt, unsigned len)
{
    for (unsigned i = 0; i < len; i++) filter_state[pkt[i]] ^= (unsigned char)(i * 31u + 7u);
}
NTSTATUS DriverEntry(void *drv, void *reg)
{
    filter((const unsigned char *)drv, 16);
    DbgPrint("ndis proxy %p %p\n", drv, reg);
    return 0;
}
X
q x86_64-w64-mingw32-gcc -O1 -s -nostdlib -Wl,--subsystem,native -Wl,--entry,DriverEntry \
  -o driver.sys driver.c -lntoskrnl

# A hostile-looking certificate: a subject of 24 OUs (~1.7 KB, past the store's 1023-byte
# name limit), issued by the same intermediate.
OUS=$(for i in $(seq 10 33); do printf '/OU=Organisational unit number %s padded out to sixty chars..' "$i"; done)
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out long.key
q openssl req -new -key long.key -subj "/C=XX/O=Long Corp$OUS/CN=Long Subject Signer" -out long.csr
q openssl x509 -req -in long.csr -CA int.crt -CAkey int.key -set_serial 0x77 -days 30 \
  -extfile ext.cnf -extensions leaf -out long.crt
cat long.crt int.crt > long.chain.pem

sign() { # out in leaf
  q osslsigncode sign -certs "$3.chain.pem" -key "$3.key" -h sha256 -n "Strain Fixture" \
    -in "$2" -out "$1"
}
sign s_vendor_tool1.exe vendor_tool1.exe vendor
sign s_vendor_tool2.exe vendor_tool2.exe vendor
sign s_actor_x.exe actor_x.exe vendor
sign s_driver.sys driver.sys vendor
sign s_clean_other.exe clean_other.exe short
sign s_actor_y.exe actor_y.exe leaf
sign s_actor_x2.exe actor_x2.exe leaf
sign s_long.exe actor_y.exe long
# Independent identities of the certificates, from openssl.
for c in vendor leaf short int root long; do
  openssl x509 -in $c.crt -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f > $c.sha1
  openssl x509 -in $c.crt -noout -serial | sed 's/.*=//' > $c.serial
  openssl x509 -in $c.crt -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f > $c.sha256
done
echo ok
