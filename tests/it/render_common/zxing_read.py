"""Decodes QR codes with zxing-cpp for the Rust render tests (tests/it/render_common/zxing.rs).

Reads images from stdin, each as a line "WIDTH HEIGHT [text]" and WIDTH*HEIGHT bytes of 8-bit
luma; answers each with one line: the first QR code's raw content in hex (with "text": its text,
as zxing-cpp decodes the character set, in UTF-8), or "-" when none is found.
"""
import sys

import zxingcpp

inp, out = sys.stdin.buffer, sys.stdout
while True:
    head = inp.readline()
    if not head:
        break
    fields = head.split()
    width, height = int(fields[0]), int(fields[1])
    as_text = fields[2:] == [b"text"]
    pixels = inp.read(width * height)
    found = zxingcpp.read_barcodes(
        memoryview(pixels).cast("B", (height, width)),
        formats=zxingcpp.BarcodeFormat.QRCode,
        try_invert=False,
    )
    if not found:
        answer = "-"
    elif as_text:
        answer = found[0].text.encode("utf-8").hex()
    else:
        answer = found[0].bytes.hex()
    out.write(answer + "\n")
    out.flush()
