"""Cut the encapsulated content out of BER CMS that openssl's streaming
signer wrote (every enclosing element has an indefinite length, so nothing
else needs rewriting): detached BER CMS, as MCA filings carry.

usage: detach_ber.py IN.der OUT.der
"""
import sys

ID_DATA = bytes.fromhex("06092a864886f70d010701")


def element_end(b, i):
    """Index just past the BER element starting at i."""
    i += 1  # tag (low numbers only in CMS)
    first = b[i]
    i += 1
    if first == 0x80:
        while b[i : i + 2] != b"\0\0":
            i = element_end(b, i)
        return i + 2
    if first & 0x80:
        n = first & 0x7F
        length = int.from_bytes(b[i : i + n], "big")
        i += n
    else:
        length = first
    return i + length


data = open(sys.argv[1], "rb").read()
at = data.index(ID_DATA) + len(ID_DATA)
assert data[at] == 0xA0, "no encapsulated content after id-data"
end = element_end(data, at)
open(sys.argv[2], "wb").write(data[:at] + data[end:])
