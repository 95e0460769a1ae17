"""Prints (DER) the certificate shim embeds in its .vendor_cert section.

Section names longer than 8 bytes are "/N": offset N in the COFF string table (which pefile
does not resolve). shim's layout: struct { u32 authorized_size; u32 deauthorized_size;
u32 authorized_offset; u32 deauthorized_offset; } at the start of the section, offsets
relative to it.
"""
import struct
import sys

import pefile

pe = pefile.PE(sys.argv[1])
raw = bytes(pe.__data__)
strtab = pe.FILE_HEADER.PointerToSymbolTable + pe.FILE_HEADER.NumberOfSymbols * 18


def name(s):
    n = s.Name.rstrip(b"\0")
    if n.startswith(b"/"):
        off = strtab + int(n[1:])
        n = raw[off:raw.index(b"\0", off)]
    return n


sec = [s for s in pe.sections if name(s) == b".vendor_cert"][0]
data = sec.get_data()
size, _, off, _ = struct.unpack_from("<IIII", data)
sys.stdout.buffer.write(data[off:off + size])
