"""Validate signature fields in many PDFs with pyHanko's library in one
process (as `pyhanko sign validate --no-revocation-check --trust ROOT
--trust-replace [--password PW]` does for each), so a corpus run pays for
Python and pyHanko's start-up once, not once per file.

usage: validate_many.py ROOT.pem < JOBS
JOBS: one line per file, tab-separated: strict|lenient, password (may be
empty), file, comma-separated field names
prints, per field: FILE<TAB>FIELD<TAB>SUMMARY (the CLI's flags, e.g.
INTACT:TRUSTED,UNTOUCHED), or FILE<TAB>FIELD<TAB>ERROR: message
"""
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

root = load_cert_from_pemder(sys.argv[1])


def summary(status):
    # The CLI's summary: INTACT:TRUSTED,UNTOUCHED and so on.
    return status.summary().replace(" ", "")


for line in sys.stdin:
    line = line.rstrip("\n")
    if not line:
        continue
    mode, password, path, fields = line.split("\t")
    wanted = [f for f in fields.split(",") if f]
    try:
        with open(path, "rb") as f:
            reader = PdfFileReader(f, strict=(mode == "strict"))
            if reader.encrypted:
                reader.decrypt(password.encode("utf-8"))
            found = {}
            for name, _value, sig_field in enumerate_sig_fields(
                reader, filled_status=True
            ):
                if name in wanted:
                    found[name] = sig_field
            for name in wanted:
                if name not in found:
                    print(f"{path}\t{name}\tERROR: field not found", flush=True)
                    continue
                try:
                    sig = EmbeddedPdfSignature(reader, found[name], name)
                    vc = ValidationContext(
                        trust_roots=[root],
                        allow_fetching=False,
                        revocation_mode="soft-fail",
                    )
                    status = validate_pdf_signature(
                        sig, signer_validation_context=vc
                    )
                    print(f"{path}\t{name}\t{summary(status)}", flush=True)
                except Exception as e:  # noqa: BLE001
                    print(f"{path}\t{name}\tERROR: {e!r}"[:500], flush=True)
    except Exception as e:  # noqa: BLE001
        for name in wanted:
            print(f"{path}\t{name}\tERROR: {e!r}"[:500], flush=True)
