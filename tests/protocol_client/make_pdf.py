#!/usr/bin/env python3
"""Write a small, valid one-page PDF, optionally padded to a minimum size.

    make_pdf.py OUT.pdf [MIN_BYTES]

The padding is a real part of the page: comment lines (random hex, so that no
transport compression can shrink it) at the end of the page's content stream.
Used to make a document larger than one WebSocket message, which must then
travel through Mohor's chunked upload and download.
"""
import os
import sys


def make_pdf(min_bytes: int = 0) -> bytes:
    text = b"BT /F1 24 Tf 72 720 Td (Order No. 12: approved for payment) Tj ET\n"
    padding = b""
    if min_bytes > 0:
        lines = []
        size = 0
        while size < min_bytes:
            line = b"% " + os.urandom(48).hex().encode() + b"\n"
            lines.append(line)
            size += len(line)
        padding = b"".join(lines)
    content = text + padding
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (Protocol client test) /Producer (tests/protocol_client/make_pdf.py) >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n"
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (
        b"trailer\n<< /Size "
        + str(len(objects) + 1).encode()
        + b" /Root 1 0 R /Info 6 0 R >>\nstartxref\n"
        + str(xref).encode()
        + b"\n%%EOF\n"
    )
    return bytes(out)


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    min_bytes = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    with open(sys.argv[1], "wb") as f:
        f.write(make_pdf(min_bytes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
