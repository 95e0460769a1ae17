#!/usr/bin/python3
"""pefile's view of PE files as normalised lines, the reference test_format_pe compares
strain's parse with. Usage: pefile_dump.py LISTFILE (one path per line). Output: one line
per fact, "<index>\t<kind>\t<fields...>", index = line number in LISTFILE (0-based).
A file pefile rejects prints "<index>\terror". Must run with Debian's /usr/bin/python3.

Kinds: hdr, opt, dir, imphash, rich, richkey, richent, sec, imp, dimp, exp, pdb, tls, ver, overlay, secdir.
Bytes are escaped (\\xHH for non-printable, backslash, tab) so that lines are comparable.
"""
import hashlib
import io
import os
import sys

import pefile


def esc(b):
    if b is None:
        return "-"
    if isinstance(b, str):
        b = b.encode("utf-8", "backslashreplace")
    out = []
    for c in b:
        if c < 0x20 or c >= 0x7F or c == 0x5C:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return "".join(out)


def dump(i, path):
    try:
        pe = pefile.PE(path)
    except pefile.PEFormatError:
        print("%d\terror" % i)
        return
    p = lambda *f: print("\t".join([str(i)] + [str(x) for x in f]))
    oh = pe.OPTIONAL_HEADER
    base = oh.ImageBase
    p("hdr", "%x" % pe.FILE_HEADER.Machine, oh.Subsystem, "%x" % base,
      "%x" % oh.AddressOfEntryPoint, len(oh.DATA_DIRECTORY))
    p("opt", "%x" % pe.FILE_HEADER.TimeDateStamp, "%x" % pe.FILE_HEADER.Characteristics,
      "%x" % oh.DllCharacteristics, "%x" % oh.CheckSum, "%x" % oh.SizeOfHeaders,
      "%d.%d" % (oh.MajorLinkerVersion, oh.MinorLinkerVersion),
      "pe32+" if pe.PE_TYPE == pefile.OPTIONAL_HEADER_MAGIC_PE_PLUS else "pe32")
    for k, d in enumerate(oh.DATA_DIRECTORY):
        p("dir", k, "%x" % d.VirtualAddress, "%x" % d.Size)
    p("imphash", pe.get_imphash() or "-")
    p("rich", pe.get_rich_header_hash() or "-")
    if pe.RICH_HEADER is not None:
        v = pe.RICH_HEADER.values
        p("richkey", "%x" % pe.RICH_HEADER.checksum)
        for k in range(0, len(v) - 1, 2):
            p("richent", k // 2, "%x" % (v[k] >> 16), "%x" % (v[k] & 0xFFFF), v[k + 1])
    for s in pe.sections:
        p("sec", s.Name.split(b"\0")[0].hex() or "-", "%x" % s.VirtualAddress,
          "%x" % s.Misc_VirtualSize, "%x" % s.get_PointerToRawData_adj(),
          "%x" % len(s.get_data()), "%x" % s.Characteristics, "%.9f" % s.get_entropy())
    for kind, attr in (("imp", "DIRECTORY_ENTRY_IMPORT"), ("dimp", "DIRECTORY_ENTRY_DELAY_IMPORT")):
        n = 0
        for d in getattr(pe, attr, []):
            for imp in d.imports:
                if imp.import_by_ordinal:
                    what = "#%d" % imp.ordinal
                else:
                    what = esc(imp.name)
                p(kind, n, esc(d.dll), what, "%x" % imp.address)
                n += 1
    if hasattr(pe, "DIRECTORY_ENTRY_EXPORT"):
        for e in pe.DIRECTORY_ENTRY_EXPORT.symbols:
            if e.forwarder is not None:
                where = "fwd:" + esc(e.forwarder)
            else:
                where = "%x" % (base + e.address)
            p("exp", e.ordinal, esc(e.name), where)
    for d in getattr(pe, "DIRECTORY_ENTRY_DEBUG", []):
        e = d.entry
        if e is not None and getattr(e, "CvSignature", None) == b"RSDS":
            guid = "%08X-%04X-%04X-%02X%02X-%s" % (
                e.Signature_Data1, e.Signature_Data2, e.Signature_Data3, e.Signature_Data4,
                e.Signature_Data5, e.Signature_Data6.hex().upper())
            name = getattr(e, "PdbFileName", b"").split(b"\0")[0]
            p("pdb", esc(name), guid, e.Age)
            break
    if hasattr(pe, "DIRECTORY_ENTRY_TLS"):
        t = pe.DIRECTORY_ENTRY_TLS.struct
        va = t.AddressOfCallBacks
        n = 0
        width = 8 if pe.PE_TYPE == pefile.OPTIONAL_HEADER_MAGIC_PE_PLUS else 4
        while va and n < 256:
            try:
                rva = va - base + n * width
                cb = pe.get_qword_at_rva(rva) if width == 8 else pe.get_dword_at_rva(rva)
            except pefile.PEFormatError:
                break
            if not cb:
                break
            p("tls", n, "%x" % cb)
            n += 1
    for fi in getattr(pe, "FileInfo", []) or []:
        done = False
        for entry in fi:
            if getattr(entry, "Key", None) == b"StringFileInfo" and entry.StringTable:
                for k, v in entry.StringTable[0].entries.items():
                    p("ver", esc(k), esc(v))
                done = True
                break
        if done:
            break
    ov = pe.get_overlay_data_start_offset()
    if ov is not None:
        p("overlay", "%x" % ov, "%x" % (len(pe.__data__) - ov))
    if len(oh.DATA_DIRECTORY) > 4 and oh.DATA_DIRECTORY[4].Size:
        d = oh.DATA_DIRECTORY[4]
        p("secdir", "%x" % d.VirtualAddress, "%x" % d.Size,
          "%x" % (oh.get_file_offset() + oh.__field_offsets__["CheckSum"]),
          "%x" % d.get_file_offset())
    pe.close()


def cache_key(path):
    """pefile's output depends only on this script, pefile's version and the file's bytes."""
    h = hashlib.sha256()
    with open(__file__, "rb") as f:
        h.update(f.read())
    h.update(pefile.__version__.encode())
    with open(path, "rb") as f:
        h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def main():
    # pefile takes a minute over the corpus and the sanitizer and debug builds both ask for
    # it: its output is cached per file (STRAIN_PEFILE_CACHE, default under the corpus cache).
    cache = os.environ.get("STRAIN_PEFILE_CACHE", os.path.expanduser(
        "~/.cache/strain-corpus/pefile-dump"))
    os.makedirs(cache, exist_ok=True)
    with open(sys.argv[1]) as f:
        paths = [l.rstrip("\n") for l in f if l.strip()]
    real_stdout = sys.stdout
    for i, path in enumerate(paths):
        entry = os.path.join(cache, cache_key(path))
        if not os.path.exists(entry):
            buf = io.StringIO()
            sys.stdout = buf
            try:
                dump(0, path)
            finally:
                sys.stdout = real_stdout
            tmp = entry + ".%d.tmp" % os.getpid()
            with open(tmp, "w") as f:
                f.write(buf.getvalue())
            os.replace(tmp, entry)
        with open(entry) as f:
            for line in f:
                real_stdout.write("%d\t%s" % (i, line.split("\t", 1)[1]))
        real_stdout.flush()


if __name__ == "__main__":
    main()
