"""Validate one signature field with pyHanko's library, as
`pyhanko sign validate --no-revocation-check --trust ROOT --trust-replace`
does, for files where the CLI stops at an earlier signature that was already
broken in the input (it validates all fields and aborts on the first crash).

usage: validate_field.py ROOT.pem strict|lenient FIELD FILE
prints: FIELD:FINGERPRINT:SUMMARY   (the CLI's summary line format)
"""
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

root, mode, field, path = sys.argv[1:5]
with open(path, "rb") as f:
    reader = PdfFileReader(f, strict=(mode == "strict"))
    for name, _value, sig_field in enumerate_sig_fields(reader, filled_status=True):
        if name != field:
            continue
        sig = EmbeddedPdfSignature(reader, sig_field, name)
        vc = ValidationContext(
            trust_roots=[load_cert_from_pemder(root)],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = validate_pdf_signature(sig, signer_validation_context=vc)
        print(f"{field}:{sig.signer_cert.sha256.hex()}:{status.summary()}")
        sys.exit(0 if status.bottom_line else 1)
print(f"{field}: not found", file=sys.stderr)
sys.exit(2)
