#!/usr/bin/env python3
"""Writes the seed images for fuzz_elf_layout into elf_layout/.

Small well-formed ELF images of both classes and byte orders: header, one
PT_LOAD, .text, .bss (SHT_NOBITS), .shstrtab, then the section header
table; one of them uses extended numbering (e_shnum 0, e_shstrndx
SHN_XINDEX, e_phnum PN_XNUM). elf_layout_test checks that they all pass.
"""
import os
import struct
import sys


def image(is64, msb, xnum=False):
    e = ">" if msb else "<"
    ehsize, phsize, shsize = (64, 56, 64) if is64 else (52, 32, 40)
    names = b"\0.text\0.bss\0.shstrtab\0"
    text_off = ehsize + phsize
    names_off = text_off + 16
    shoff = (names_off + len(names) + 7) // 8 * 8
    nsec = 4
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if msb else 1, 1]) + bytes(9)
    word = "Q" if is64 else "I"
    ehdr = ident + struct.pack(
        e + "HHI" + word * 3 + "IHHHHHH",
        2, 0x3E if is64 else 3, 1, 0x1000, ehsize, shoff, 0, ehsize, phsize,
        0xFFFF if xnum else 1, shsize, 0 if xnum else nsec, 0xFFFF if xnum else 3)
    if is64:
        phdr = struct.pack(e + "IIQQQQQQ", 1, 5, 0, 0x0, 0x0, shoff, shoff, 0x1000)
    else:
        phdr = struct.pack(e + "IIIIIIII", 1, 0, 0, 0, shoff, shoff, 5, 0x1000)
    body = ehdr + phdr + b"\x90" * 16 + names
    body += bytes(shoff - len(body))

    def shdr(name, type_, off, size, link=0, info=0):
        if is64:
            return struct.pack(e + "IIQQQQIIQQ", name, type_, 0, 0, off, size, link, info, 1, 0)
        return struct.pack(e + "IIIIIIIIII", name, type_, 0, 0, off, size, link, info, 1, 0)

    table = shdr(0, 0, 0, nsec if xnum else 0, 3 if xnum else 0, 1 if xnum else 0)
    table += shdr(1, 1, text_off, 16)
    table += shdr(7, 8, 0x7FFF0000, 0x10000)
    table += shdr(12, 3, names_off, len(names))
    return body + table


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "elf_layout")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "elf64_lsb.elf": image(True, False),
        "elf64_msb.elf": image(True, True),
        "elf32_lsb.elf": image(False, False),
        "elf32_msb.elf": image(False, True),
        "elf64_lsb_extended_numbering.elf": image(True, False, xnum=True),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
