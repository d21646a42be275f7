"""A CRL for a signed PDF, and pyHanko's verdict on it.

    crl_after_timestamp.py add IN.pdf OUT.pdf CRL.der
        append a DSS holding CRL (pyHanko's own DSS writer, an incremental update)
    crl_after_timestamp.py judge FILE.pdf ROOT.pem CRL.der [CRL.der...]
        pyHanko's validator on the first signature, offline, revocation
        required from the CRLs alone, at the time of the signature's timestamp
        (point-in-time validation: what PAdES asks when a trusted timestamp
        proves when the signature existed), or now when the timestamp is not
        trusted. Prints the summary; exit 0 when the signer validates, 1 when
        not.
"""
import asyncio
import sys

from asn1crypto import crl as asn1_crl
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

mode = sys.argv[1]
if mode == "add":
    src, dst, crl = sys.argv[2:5]
    with open(crl, "rb") as f:
        crl_der = asn1_crl.CertificateList.load(f.read())
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "w+b") as out:
        out.write(data)
        out.seek(0)
        DocumentSecurityStore.add_dss(out, None, crls=[crl_der])
    sys.exit(0)

path, root = sys.argv[2:4]
crl_ders = []
for crl in sys.argv[4:]:
    with open(crl, "rb") as f:
        crl_ders.append(f.read())
reader = PdfFileReader(open(path, "rb"))
sig = reader.embedded_signatures[0]


def context(moment):
    return ValidationContext(
        trust_roots=[load_cert_from_pemder(root)],
        crls=crl_ders,
        allow_fetching=False,
        revocation_mode="require",
        moment=moment,
        # A CRL made after the proven time speaks for it too (it lists
        # every revocation up to its own date, with that date).
        retroactive_revinfo=True,
    )


async def validate():
    # First the timestamp, to learn the proven time.
    status = await async_validate_pdf_signature(
        sig,
        signer_validation_context=context(None),
        ts_validation_context=context(None),
    )
    ts = status.timestamp_validity
    print("timestamp:", ts.timestamp if ts else None, "trusted:", ts.trusted if ts else None)
    # Without a trusted timestamp nothing proves when the signature was
    # made: the signer is judged now.
    moment = ts.timestamp if ts is not None and ts.trusted else None
    print("validation time:", moment or "now")
    status = await async_validate_pdf_signature(
        sig,
        signer_validation_context=context(moment),
        ts_validation_context=context(None),
    )
    print(status.pretty_print_details())
    print("bottom line:", status.bottom_line, "revoked:", status.revoked)
    return status.bottom_line


sys.exit(0 if asyncio.run(validate()) else 1)
