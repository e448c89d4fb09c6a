"""Decodes QR codes with zxing-cpp for the Rust render tests (tests/it/render_common/zxing.rs).

Reads images from stdin, each as a line "WIDTH HEIGHT" and WIDTH*HEIGHT bytes of 8-bit luma;
answers each with one line: the first QR code's raw content in hex, or "-" when none is found.
"""
import sys

import zxingcpp

inp, out = sys.stdin.buffer, sys.stdout
while True:
    head = inp.readline()
    if not head:
        break
    width, height = map(int, head.split())
    pixels = inp.read(width * height)
    found = zxingcpp.read_barcodes(
        memoryview(pixels).cast("B", (height, width)),
        formats=zxingcpp.BarcodeFormat.QRCode,
        try_invert=False,
    )
    out.write((found[0].bytes.hex() if found else "-") + "\n")
    out.flush()
