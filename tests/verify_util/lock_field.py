"""Sign a PDF with pyHanko into a new field whose FieldMDP lock covers one
form field (Mohor writes no locks of its own).

usage: lock_field.py KEY CERT CHAIN IN OUT FIELD_TO_LOCK
"""
import sys

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, SigFieldSpec

key, cert, chain, src, dst, locked = sys.argv[1:7]
signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
with open(src, "rb") as f:
    w = IncrementalPdfFileWriter(f)
    spec = FieldMDPSpec(FieldMDPAction.INCLUDE, [locked])
    fields.append_signature_field(w, SigFieldSpec("Locker", field_mdp_spec=spec))
    meta = signers.PdfSignatureMetadata(
        field_name="Locker", subfilter=fields.SigSeedSubFilter.PADES
    )
    with open(dst, "wb") as out:
        signers.sign_pdf(w, meta, signer=signer, output=out)
