"""Decodes QR codes with zbar (Debian's libzbar0) for the Rust render tests
(tests/it/render_common/zbar.rs), through ctypes: no Python package, only the C library.

Reads images from stdin, each as a line "MODE WIDTH HEIGHT" and WIDTH*HEIGHT bytes of 8-bit
luma; MODE is "text" (zbar's default: the content converted to UTF-8 from the character set it
guesses or an ECI names, what an app built on zbar shows) or "binary" (ZBAR_CFG_BINARY: the
segments' bytes unconverted). Answers each with one line: the first QR code's content in hex,
or "-" when none is found.

Each image gets a scanner of its own. zbar's QR reader seeds its random generator (the RANSAC
that fits the finders' edges) once per scanner, so a scanner shared by several images reads
each with a generator state the images before it left: a borderline image then reads or not by
the order the tests ran in. A fresh scanner reads an image the same way every time.
"""
import ctypes
import sys

Z = ctypes.CDLL("libzbar.so.0")
Z.zbar_image_scanner_create.restype = ctypes.c_void_p
Z.zbar_image_scanner_set_config.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
Z.zbar_image_create.restype = ctypes.c_void_p
Z.zbar_image_set_format.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
Z.zbar_image_set_size.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
Z.zbar_image_set_data.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p]
Z.zbar_scan_image.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
Z.zbar_image_first_symbol.argtypes = [ctypes.c_void_p]
Z.zbar_image_first_symbol.restype = ctypes.c_void_p
Z.zbar_symbol_get_data.argtypes = [ctypes.c_void_p]
Z.zbar_symbol_get_data.restype = ctypes.c_void_p
Z.zbar_symbol_get_data_length.argtypes = [ctypes.c_void_p]
Z.zbar_symbol_get_data_length.restype = ctypes.c_uint
Z.zbar_image_destroy.argtypes = [ctypes.c_void_p]
Z.zbar_image_scanner_destroy.argtypes = [ctypes.c_void_p]

ZBAR_NONE, ZBAR_QRCODE = 0, 64
ZBAR_CFG_ENABLE, ZBAR_CFG_BINARY = 0, 4
Y800 = 0x30303859  # fourcc "Y800": 8-bit grey


def scanner(binary):
    s = Z.zbar_image_scanner_create()
    Z.zbar_image_scanner_set_config(s, ZBAR_NONE, ZBAR_CFG_ENABLE, 0)
    Z.zbar_image_scanner_set_config(s, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1)
    Z.zbar_image_scanner_set_config(s, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1 if binary else 0)
    return s


inp, out = sys.stdin.buffer, sys.stdout
while True:
    head = inp.readline()
    if not head:
        break
    mode, width, height = head.split()
    width, height = int(width), int(height)
    pixels = ctypes.create_string_buffer(inp.read(width * height), width * height)
    img = Z.zbar_image_create()
    Z.zbar_image_set_format(img, Y800)
    Z.zbar_image_set_size(img, width, height)
    Z.zbar_image_set_data(img, pixels, width * height, None)
    answer = "-"
    s = scanner(mode == b"binary")
    if Z.zbar_scan_image(s, img) > 0:
        sym = Z.zbar_image_first_symbol(img)
        n = Z.zbar_symbol_get_data_length(sym)
        answer = ctypes.string_at(Z.zbar_symbol_get_data(sym), n).hex()
    Z.zbar_image_destroy(img)
    Z.zbar_image_scanner_destroy(s)
    out.write(answer + "\n")
    out.flush()
