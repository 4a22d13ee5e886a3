#!/usr/bin/env python3
"""Writes a copy of an ELF file whose .sframe section is corrupted.

Usage: corrupt_sframe.py INPUT OUTPUT

The result is for testing that SFrame parsers reject bad tables instead of
trusting them. Only bytes inside .sframe change, and the size stays the same,
so the ELF file stays valid and the program still runs (nothing reads .sframe
at run time). What changes:

  * the preamble: magic 0xdee2 becomes 0xbad0, version becomes 0xff, so a
    parser that checks the header must refuse the section;
  * the function descriptor entries (FDEs), as located by the original
    header: their bytes become a fixed pseudo-random pattern, so a parser that
    skipped the header checks would read garbage start addresses, sizes and
    FRE offsets.

The section is found through the section header table (ELF32 or ELF64, either
byte order). The script fails with a non-zero exit and a message when there is
no .sframe section, when it has no bytes in the file, or when it does not start
with a valid SFrame preamble (so the input is not already corrupted).
"""

import os
import struct
import sys

SFRAME_MAGIC = 0xDEE2
BAD_MAGIC = 0xBAD0
BAD_VERSION = 0xFF
# sframe_header: preamble (magic u16, version u8, flags u8), abi_arch u8,
# cfa_fixed_fp_offset i8, cfa_fixed_ra_offset i8, auxhdr_len u8,
# num_fdes u32, num_fres u32, fre_len u32, fdeoff u32, freoff u32.
SFRAME_HEADER_SIZE = 28
# FDE sizes: v1 packs 17 bytes, v2 adds rep_size and 2 padding bytes.
SFRAME_FDE_SIZE = {1: 17, 2: 20}
SHT_NOBITS = 8


class CorruptError(Exception):
    pass


def find_section(data, name):
    """Returns (file offset, size, type) of the named section."""
    if len(data) < 16 or data[:4] != b"\x7fELF":
        raise CorruptError("not an ELF file")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise CorruptError(f"unknown ELF class {ei_class} or data encoding {ei_data}")
    end = "<" if ei_data == 1 else ">"
    if ei_class == 2:
        ehdr_fmt, shdr_fmt = end + "16xHHIQQQIHHHHHH", end + "IIQQQQIIQQ"
    else:
        ehdr_fmt, shdr_fmt = end + "16xHHIIIIIHHHHHH", end + "IIIIIIIIII"
    if len(data) < struct.calcsize(ehdr_fmt):
        raise CorruptError("truncated ELF header")
    ehdr = struct.unpack_from(ehdr_fmt, data, 0)
    shoff, shentsize, shnum, shstrndx = ehdr[5], ehdr[10], ehdr[11], ehdr[12]
    if shoff == 0 or shnum == 0:
        raise CorruptError("no section header table")
    if shentsize < struct.calcsize(shdr_fmt):
        raise CorruptError(f"section header entry size {shentsize} too small")
    if shoff + shnum * shentsize > len(data):
        raise CorruptError(f"section header table at offset {shoff} runs past the end of the file")

    def shdr(i):
        f = struct.unpack_from(shdr_fmt, data, shoff + i * shentsize)
        # (name, type, offset, size)
        return f[0], f[1], f[4], f[5]

    if shstrndx >= shnum:
        raise CorruptError(f"section name table index {shstrndx} out of range")
    _, _, str_off, str_size = shdr(shstrndx)
    strtab = data[str_off:str_off + str_size]
    for i in range(shnum):
        name_off, sh_type, off, size = shdr(i)
        nul = strtab.find(b"\0", name_off)
        if nul < 0:
            continue
        if strtab[name_off:nul] == name.encode():
            return off, size, sh_type
    raise CorruptError(f"no {name} section (was the input built with -Wa,--gsframe?)")


def garbage(n):
    """A fixed pseudo-random byte pattern (xorshift32), so builds are reproducible."""
    out = bytearray(n)
    x = 0x9E3779B9
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return out


def corrupt(data):
    off, size, sh_type = find_section(data, ".sframe")
    if sh_type == SHT_NOBITS or size == 0:
        raise CorruptError(".sframe has no bytes in the file")
    if off + size > len(data):
        raise CorruptError(f".sframe at offset {off} size {size} runs past the end of the file")
    if size < SFRAME_HEADER_SIZE:
        raise CorruptError(f".sframe is {size} bytes, smaller than an SFrame header")
    sec = data[off:off + size]
    magic_le = struct.unpack_from("<H", sec, 0)[0]
    magic_be = struct.unpack_from(">H", sec, 0)[0]
    if magic_le == SFRAME_MAGIC:
        end = "<"
    elif magic_be == SFRAME_MAGIC:
        end = ">"
    else:
        raise CorruptError(f".sframe at offset {off}: bad magic 0x{magic_le:04x}, already corrupted?")
    version = sec[2]
    if version not in SFRAME_FDE_SIZE:
        raise CorruptError(f".sframe at offset {off}: unknown SFrame version {version}")
    auxhdr_len = sec[7]
    num_fdes, _, _, fdeoff, _ = struct.unpack_from(end + "IIIII", sec, 8)
    fde_start = SFRAME_HEADER_SIZE + auxhdr_len + fdeoff
    fde_len = num_fdes * SFRAME_FDE_SIZE[version]
    if num_fdes == 0 or fde_start >= size:
        raise CorruptError(f".sframe at offset {off}: no FDEs to corrupt")
    fde_len = min(fde_len, size - fde_start)

    out = bytearray(data)
    struct.pack_into(end + "HB", out, off, BAD_MAGIC, BAD_VERSION)
    out[off + fde_start:off + fde_start + fde_len] = garbage(fde_len)
    return out, off, fde_start, fde_len


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, dst = argv[1], argv[2]
    try:
        with open(src, "rb") as f:
            data = f.read()
        out, off, fde_start, fde_len = corrupt(data)
    except (OSError, CorruptError) as e:
        print(f"corrupt_sframe.py: {src}: {e}", file=sys.stderr)
        return 1
    tmp = dst + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(out)
        os.chmod(tmp, os.stat(src).st_mode & 0o7777)
        os.replace(tmp, dst)
    except OSError as e:
        print(f"corrupt_sframe.py: {dst}: {e}", file=sys.stderr)
        return 1
    print(f"corrupt_sframe.py: {dst}: .sframe at file offset 0x{off:x}: header magic/version "
          f"and {fde_len} FDE bytes at section offset 0x{fde_start:x} overwritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
