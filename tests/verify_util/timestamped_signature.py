"""Sign a PDF (PAdES) with a signature timestamp of a fixed time from any
time-stamping authority, made in-process by pyHanko's DummyTimeStamper
(no TSA service needed, and the authority need not be trusted).

usage: timestamped_signature.py KEY CERT CHAIN TSA_KEY TSA_CERT TIME IN OUT [TSA_MD]
       (TIME in ISO 8601 with an offset, e.g. 2021-06-01T10:00:00+00:00;
       TSA_MD, e.g. sha1: the hash the token's own signature uses)
"""
import datetime
import sys

from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps

key, cert, chain, tsa_key, tsa_cert, when, src, dst = sys.argv[1:9]
tsa_md = sys.argv[9] if len(sys.argv) > 9 else None
signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
stamper = timestamps.DummyTimeStamper(
    tsa_cert=load_cert_from_pemder(tsa_cert),
    tsa_key=load_private_key_from_pemder(tsa_key, None),
    fixed_dt=datetime.datetime.fromisoformat(when),
    override_md=tsa_md,
)
with open(src, "rb") as f:
    w = IncrementalPdfFileWriter(f)
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES
    )
    with open(dst, "wb") as out:
        signers.PdfSigner(meta, signer=signer, timestamper=stamper).sign_pdf(
            w, output=out
        )
