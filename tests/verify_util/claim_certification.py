"""Sign a certified PDF again, in a revision that also adds a sticky note
to page 1, into a new field listed first in the form, whose signature
dictionary claims a certification allowing annotations (DocMDP P=3) — what
anyone who signs next can write. pyHanko would never make this signature;
its dictionary writer is replaced for the one call.

usage: claim_certification.py KEY CERT CHAIN IN OUT
"""
import sys

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import cms_embedder

key, cert, chain, src, dst = sys.argv[1:6]


def claim_annotations_allowed(self, sig_obj_ref, writer):
    # /Reference with DocMDP P=3, and no /Perms entry in the catalog.
    sig_obj_ref.get_object()["/Reference"] = generic.ArrayObject(
        [cms_embedder.docmdp_reference_dictionary(fields.MDPPerm.ANNOTATE)]
    )


cms_embedder.SigMDPSetup.apply = claim_annotations_allowed

signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
with open(src, "rb") as f:
    w = IncrementalPdfFileWriter(f)
    page = w.root["/Pages"]["/Kids"][0].get_object()
    note = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Text"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (100, 100, 120, 120)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject("Approved"),
        }
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(w.add_object(note))
    page["/Annots"] = annots
    w.update_container(page)
    fields.append_signature_field(w, fields.SigFieldSpec("Claimant"))
    form = w.root["/AcroForm"]
    listed = form["/Fields"]
    listed.insert(0, listed.pop())
    w.update_container(form)
    meta = signers.PdfSignatureMetadata(field_name="Claimant")
    with open(dst, "wb") as out:
        signers.PdfSigner(meta, signer=signer).sign_pdf(w, output=out)
