"""Swap the signer's certificate in the last PDF signature for another one
(and point the SignerInfo at it), keeping the file's byte layout: the tamper
a forger tries to pass someone else's identity off with. asn1crypto, not Mohor.

usage: swap_cert.py IN.pdf OTHER_CERT.pem OUT.pdf
"""
import sys

from asn1crypto import cms, pem, x509

src, other, out = sys.argv[1:4]
pdf = open(src, "rb").read()
at = pdf.rfind(b"/ByteRange")
numbers = pdf[pdf.index(b"[", at) + 1 : pdf.index(b"]", at)].split()
start, end = int(numbers[1]), int(numbers[2]) - 1  # the gap is exactly <hex>
hex_text = pdf[start + 1 : end]
info = cms.ContentInfo.load(bytes.fromhex(hex_text.decode()), strict=False)
signed = info["content"]
signer = signed["signer_infos"][0]
serial = signer["sid"].chosen["serial_number"].native
data = open(other, "rb").read()
if pem.detect(data):
    data = pem.unarmor(data)[2]
cert = x509.Certificate.load(data)
certs = [c for c in signed["certificates"] if c.chosen.serial_number != serial]
signed["certificates"] = [cms.CertificateChoices({"certificate": cert})] + certs
signer["sid"] = cms.SignerIdentifier(
    {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
)
new = info.dump(force=True).hex().encode()
assert len(new) <= len(hex_text), "the swapped signature does not fit"
new = new + b"0" * (len(hex_text) - len(new))
open(out, "wb").write(pdf[: start + 1] + new + pdf[end:])
