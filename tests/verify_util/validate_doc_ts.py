"""pyHanko's library on the document timestamps of a PDF (its CLI skips
them outside LTA mode).

usage: validate_doc_ts.py ROOT.pem FILE
prints per timestamp: FIELD:INTACT|INVALID:TRUSTED|UNTRUSTED
"""
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

root, path = sys.argv[1:3]
with open(path, "rb") as f:
    reader = PdfFileReader(f)
    for sig in reader.embedded_timestamp_signatures:
        vc = ValidationContext(
            trust_roots=[load_cert_from_pemder(root)],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = validate_pdf_timestamp(sig, validation_context=vc)
        intact = "INTACT" if status.intact and status.valid else "INVALID"
        trusted = "TRUSTED" if status.trusted else "UNTRUSTED"
        print(f"{sig.field_name}:{intact}:{trusted}")
