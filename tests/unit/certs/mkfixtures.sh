#!/bin/sh
# Builds the certificate-intelligence fixtures in DIR (test_certs.c runs it). The PKI and the
# signing helpers' certificates come from the sig tests' script (tests/unit/sig/mkfixtures.sh,
# run first, not duplicated): root -> intermediate -> leaves "vendor" (Vendor Corp, the
# certificate to be "stolen"), "leaf" (Strain Test Signer) and "short". Here: programs with
# clearly different code, signed with those leaves by osslsigncode:
#   vendor_tool1/2/3.exe  clean vendor tools sharing a vendor library     (vendor)
#   actor_x.exe         an actor's user-mode sample                       (vendor)
#   driver.sys          a kernel driver (native subsystem, ntoskrnl import, no CRT) (vendor)
#   clean_other.exe     a clean program of another vendor                 (short)
#   actor_y.exe, actor_x2.exe  samples of two actors                      (leaf)
#   s_long.exe          signed by a certificate whose subject is ~1.7 KB      (long)
# and for the unrelated-code finding (the LuckyMouse pattern):
#   runtime.exe         the vendor's runtime: an empty program of the same toolchain, unsigned
#                       (added --clean: its C runtime is what unrelated programs share)
#   s_actor_proxy.exe   an actor's traffic proxy with real code of its own   (vendor)
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
for i in 1 2 3; do
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
# The vendor's runtime: the C library as this toolchain links it into a program using stdio
# (mingw-w64's printf engine and gdtoa, fread, string functions), nothing of its own. An
# empty main() does not do: it leaves out the stdio code every printf user carries.
cat > runtime.c <<'X'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    char b[64];
    size_t n = fread(b, 1, sizeof(b), stdin);
    memset(b, 0, sizeof(b));
    printf("%s: %d args, %u bytes read (%s)\n", argv[0], argc, (unsigned)n, strerror(0));
    puts("done");
    return 0;
}
X
q x86_64-w64-mingw32-gcc -O1 -s -o runtime.exe runtime.c
# An actor's program with code of its own (a packet relay: stream cipher, framing, config
# decoding; kept as separate functions), nothing of the vendor's library, the same
# toolchain and runtime.
cat > actor_proxy.c <<'X'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { unsigned char s[256]; unsigned i, j; } rc_state;
static __attribute__((noinline)) void rc_init(rc_state *r, const unsigned char *k, size_t n)
{
    for (unsigned i = 0; i < 256; i++) r->s[i] = (unsigned char)i;
    for (unsigned i = 0, j = 0; i < 256; i++) {
        j = (j + r->s[i] + k[i % n]) & 255;
        unsigned char t = r->s[i]; r->s[i] = r->s[j]; r->s[j] = t;
    }
    r->i = r->j = 0;
}
static __attribute__((noinline)) void rc_apply(rc_state *r, unsigned char *p, size_t n)
{
    for (size_t x = 0; x < n; x++) {
        r->i = (r->i + 1) & 255; r->j = (r->j + r->s[r->i]) & 255;
        unsigned char t = r->s[r->i]; r->s[r->i] = r->s[r->j]; r->s[r->j] = t;
        p[x] ^= r->s[(r->s[r->i] + r->s[r->j]) & 255];
    }
}
static __attribute__((noinline)) int frame_parse(const unsigned char *p, size_t n, unsigned *port, unsigned *len)
{
    if (n < 8 || p[0] != 0x17 || p[1] != 0x03) return -1;
    *port = (unsigned)p[2] << 8 | p[3];
    *len = (unsigned)p[4] << 24 | (unsigned)p[5] << 16 | (unsigned)p[6] << 8 | p[7];
    return *len <= n - 8 ? 0 : -2;
}
static __attribute__((noinline)) size_t cfg_decode(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        int hi = hex[0] <= '9' ? hex[0] - '0' : (hex[0] | 32) - 'a' + 10;
        int lo = hex[1] <= '9' ? hex[1] - '0' : (hex[1] | 32) - 'a' + 10;
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15) break;
        out[n++] = (unsigned char)(hi << 4 | lo);
    }
    return n;
}
static __attribute__((noinline)) unsigned route_hash(const char *host)
{
    unsigned h = 2166136261u;
    while (*host) { h ^= (unsigned char)*host++; h *= 16777619u; }
    return h % 97u;
}
int main(int argc, char **argv)
{
    unsigned char key[32], buf[512];
    unsigned port = 0, len = 0;
    size_t kn = cfg_decode(argc > 1 ? argv[1] : "6c75636b796d6f757365", key, sizeof(key));
    rc_state r;
    rc_init(&r, key, kn ? kn : 1);
    size_t n = fread(buf, 1, sizeof(buf), stdin);
    if (frame_parse(buf, n, &port, &len) == 0) {
        rc_apply(&r, buf + 8, len);
        printf("relay %u bytes to port %u via route %u\n", len, port,
               route_hash(argc > 2 ? argv[2] : "update.example"));
    }
    return 0;
}
X
q x86_64-w64-mingw32-gcc -O1 -s -o actor_proxy.exe actor_proxy.c

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
sign s_vendor_tool3.exe vendor_tool3.exe vendor
sign s_actor_x.exe actor_x.exe vendor
sign s_driver.sys driver.sys vendor
sign s_clean_other.exe clean_other.exe short
sign s_actor_y.exe actor_y.exe leaf
sign s_actor_x2.exe actor_x2.exe leaf
sign s_long.exe actor_y.exe long
sign s_actor_proxy.exe actor_proxy.exe vendor
# Independent identities of the certificates, from openssl.
for c in vendor leaf short int root long; do
  openssl x509 -in $c.crt -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f > $c.sha1
  openssl x509 -in $c.crt -noout -serial | sed 's/.*=//' > $c.serial
  openssl x509 -in $c.crt -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f > $c.sha256
done
echo ok
