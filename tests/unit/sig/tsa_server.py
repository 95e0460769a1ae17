"""Tiny loopback time-stamp authority for the sig tests (never used outside them).

POST with a DER TimeStampReq (RFC 3161, osslsigncode -ts): answered by `openssl ts -reply`.
POST with base64 (Authenticode legacy, osslsigncode -t): the blob to countersign is signed
with `openssl cms -sign` and returned base64, as the legacy protocol expects.
In mode "unbound" the RFC 3161 answer is for a different message imprint (a forged token).
Usage: tsa_server.py DIR MODE PORTFILE. Binds 127.0.0.1 on a free port, writes it to
PORTFILE, serves until killed (the test kills it; `timeout` bounds it anyway).
"""
import base64
import http.server
import os
import subprocess
import sys
import tempfile

D, MODE, PORTFILE = sys.argv[1], sys.argv[2], sys.argv[3]


def run(args, data=None):
    return subprocess.run(args, input=data, capture_output=True, check=True, timeout=30).stdout


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with tempfile.TemporaryDirectory(dir=D) as t:
            if body[:1] == b"\x30":
                q = os.path.join(t, "q.der")
                open(q, "wb").write(body)
                if MODE == "unbound":
                    other = os.path.join(t, "other.bin")
                    open(other, "wb").write(b"some other signature entirely")
                    run(["openssl", "ts", "-query", "-data", other, "-sha256", "-cert",
                         "-out", q])
                out = run(["openssl", "ts", "-reply", "-config", os.path.join(D, "tsa.cnf"),
                           "-queryfile", q, "-signer", os.path.join(D, "tsa.crt"),
                           "-inkey", os.path.join(D, "tsa.key"),
                           "-chain", os.path.join(D, "root.crt"), "-out", "/dev/stdout"])
                ctype = "application/timestamp-reply"
            else:
                # Legacy: TimeStampRequest { OID, { contentType, [0] { OCTET STRING blob } } }
                req = base64.b64decode(body)
                blob = os.path.join(t, "blob.bin")
                der = os.path.join(t, "req.der")
                open(der, "wb").write(req)
                parsed = run(["openssl", "asn1parse", "-inform", "DER", "-in", der])
                last = [l for l in parsed.decode().splitlines() if "OCTET STRING" in l][-1]
                off = int(last.split(":")[0])
                hl = int(last.split("hl=")[1].split()[0])
                ln = int(last.split("l=")[2].split()[0])
                open(blob, "wb").write(req[off + hl:off + hl + ln])
                p7 = run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-outform", "DER",
                          "-md", "sha256", "-signer", os.path.join(D, "tsa.crt"),
                          "-inkey", os.path.join(D, "tsa.key"), "-in", blob, "-nosmimecap"])
                # The legacy reply is a PKCS#7 SignedData, base64.
                out = base64.b64encode(p7)
                ctype = "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
