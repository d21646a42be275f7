#!/usr/bin/env python3
"""A Mohor client written from docs/PROTOCOL.md alone (asyncio + websockets).

    client.py PORT OUTDIR [--origin ORIGIN] [--cert ID] [--pdf FILE]...
              [--text TEXT] [--hash-input FILE] [--no-probes]

PORT is the agent's port, or "auto" to try 21760-21763 as the protocol
reference describes. The client says hello, lists certificates, signs every
--pdf (through chunked upload and download when a document does not fit in one
message), signs --text with sign.data and the SHA-256 of --hash-input with
sign.hash. Outputs go to OUTDIR:

    NAME.signed.pdf   for each --pdf NAME.pdf
    text.txt          the exact bytes signed by sign.data, and text.txt.p7s
    hash.p7s          the sign.hash signature (its messageDigest is the SHA-256
                      of --hash-input)

A JSON summary goes to standard output, progress and errors to standard error.
Exit status: 0 all done, 1 Mohor refused or failed (the reason and hint are
printed), 2 usage.
"""
import argparse
import asyncio
import base64
import hashlib
import itertools
import json
import sys
from pathlib import Path

try:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
except ImportError:  # pragma: no cover - told to the person running it
    print("client.py needs the 'websockets' package (pip install websockets)", file=sys.stderr)
    sys.exit(2)

# PROTOCOL.md, "Limits": one message (and frame) is at most 16 MiB; a chunk is
# at most 4 MiB of raw bytes. mohor.js uploads documents above 6 MiB, so do we.
MAX_MESSAGE = 16 * 1024 * 1024
INLINE_LIMIT = 6 * 1024 * 1024
DEFAULT_PORTS = (21760, 21761, 21762, 21763)
# A request may take up to 15 minutes (then Mohor answers TIMEOUT); wait a bit longer.
REQUEST_TIMEOUT = 16 * 60

# PROTOCOL.md, "Errors": what to tell the person for each reason.
PLAIN_WORDS = {
    "USER_CANCELLED": "The signing was cancelled. Nothing was signed.",
    "ORIGIN_NOT_ALLOWED": "This website is not allowed to use your signing token. "
    "Ask your IT desk to allow it in Mohor.",
    "PIN_LOCKED": "Your token's PIN is blocked. Contact the Certifying Authority that "
    "issued your DSC to unblock it.",
    "PIN_GUARD_LOCKED": "Mohor has stopped asking for the PIN after wrong tries, so that "
    "your token does not get blocked. Open Mohor to unlock it once you are sure of the PIN.",
    "PIN_INCORRECT": "The PIN was not correct. Check it and try again carefully: tokens "
    "block after a few wrong tries.",
    "TOKEN_NOT_PRESENT": "No signing token was found. Insert your DSC USB token and try again.",
    "TOKEN_REMOVED": "The token was removed while signing. Insert it again and retry.",
    "NO_MATCHING_CERTIFICATE": "No suitable signing certificate was found on your token. "
    "Check that you inserted the right token.",
    "CERTIFICATE_NOT_USABLE": "This certificate cannot be used for signing. Renew your DSC "
    "or pick another certificate.",
    "DOCUMENT_REFUSED": "This document cannot be signed: it may be damaged, "
    "password-protected, or locked against changes.",
    "BUSY": "Mohor is still busy with an earlier request. Wait a moment and try again.",
    "INVALID_REQUEST": "The website sent a request Mohor could not accept. Please report "
    "this to the website's support desk.",
    "TOO_LARGE": "The document is too large to sign here.",
    "TIMEOUT": "The signing took too long and was stopped. Try again, and answer Mohor's "
    "windows when they appear.",
    "MODULE_ERROR": "The token's driver did not respond properly. Remove and re-insert the "
    "token, or reinstall the driver from your token provider.",
    "IO_ERROR": "Mohor could not read or write a file on this computer. Check that the disk "
    "is not full.",
    "INTERNAL": "Something went wrong inside Mohor. Try again; if it happens again, "
    "restart Mohor.",
    # Reasons this client reports itself (never sent by Mohor).
    "NOT_RUNNING": "Mohor is not running on this computer, or this website is not allowed "
    "to use it. Start Mohor (look for the seal icon near the clock). If it is already "
    "running, ask your IT desk to allow this website.",
    "CONNECTION_LOST": "The connection to Mohor was lost. Check that Mohor is still running "
    "and try again.",
    "PROTOCOL": "Mohor answered in a way this client does not understand. Update the client "
    "or Mohor.",
}


class MohorError(Exception):
    """An error answer from Mohor, or a failure this client detected itself."""

    def __init__(self, reason, message, hint="", code=None, method=None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.hint = hint
        self.code = code
        self.method = method

    @classmethod
    def from_answer(cls, method, error):
        # Be defensive: a developer copying this must not crash on an odd answer.
        if not isinstance(error, dict):
            return cls("PROTOCOL", f"malformed error answer: {error!r}", method=method)
        data = error.get("data") if isinstance(error.get("data"), dict) else {}
        reason = data.get("reason") if isinstance(data.get("reason"), str) else "INTERNAL"
        hint = data.get("hint") if isinstance(data.get("hint"), str) else ""
        return cls(
            reason,
            str(error.get("message", "")),
            hint=hint,
            code=error.get("code"),
            method=method,
        )

    def plain_words(self):
        # "Reasons are stable; new ones may be added, so treat unknown reasons like INTERNAL."
        return PLAIN_WORDS.get(self.reason, PLAIN_WORDS["INTERNAL"])

    def as_json(self):
        return {
            "method": self.method,
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self):
        where = f"{self.method}: " if self.method else ""
        code = f" (code {self.code})" if self.code is not None else ""
        text = f"{where}{self.reason}{code}: {self.plain_words()}"
        if self.hint:
            text += f" Hint from Mohor: {self.hint}"
        if self.message:
            text += f" [message: {self.message}]"
        return text


def protocol_error(method, what):
    return MohorError("PROTOCOL", what, method=method)


def expect(method, result, key, kind):
    """result[key], checked to be of type kind (never a bare KeyError)."""
    if not isinstance(result, dict) or not isinstance(result.get(key), kind):
        raise protocol_error(method, f"answer has no {kind.__name__} '{key}': {str(result)[:200]}")
    return result[key]


def b64decode(method, text):
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as e:
        raise protocol_error(method, f"answer is not valid base64: {e}") from None


class Mohor:
    """One WebSocket connection to Mohor; requests may run concurrently."""

    def __init__(self, ws, port):
        self.ws = ws
        self.port = port
        self._ids = itertools.count(1)
        self._pending = {}  # id -> Future of the answer message
        self._progress = {}  # id -> callback(stage)
        self.stats = {"uploads": [], "downloads": []}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port, origin, host="127.0.0.1"):
        uri = f"ws://{host}:{port}/"
        try:
            ws = await connect(
                uri,
                origin=origin,
                max_size=MAX_MESSAGE,  # answers can be up to 16 MiB (default would be 1 MiB)
                compression=None,
                open_timeout=10,
            )
        except InvalidStatus as e:
            # A browser only sees close 1006 here; a script can see the status.
            status = e.response.status_code
            what = {
                403: "Mohor refused the connection (HTTP 403): this origin is not allowed, "
                "or the Host header is not the loopback address and port",
                503: "Mohor has too many open connections (HTTP 503)",
            }.get(status, f"the handshake failed with HTTP {status}")
            raise MohorError("NOT_RUNNING", f"{uri}: {what}") from None
        except (OSError, InvalidHandshake, asyncio.TimeoutError) as e:
            raise MohorError("NOT_RUNNING", f"{uri}: {e or type(e).__name__}") from None
        client = cls(ws, port)
        try:
            hello = await client.call("hello")
        except MohorError:
            await client.close()
            raise
        if not isinstance(hello, dict) or hello.get("product") != "Mohor":
            await client.close()
            raise MohorError("NOT_RUNNING", f"{uri}: the program on this port is not Mohor")
        if hello.get("protocol") != 1:
            await client.close()
            raise protocol_error("hello", f"Mohor speaks protocol {hello.get('protocol')!r}, not 1")
        client.hello = hello
        return client

    @classmethod
    async def discover(cls, origin):
        """Try Mohor's ports in parallel; keep the lowest one that says hello."""
        attempts = [asyncio.ensure_future(cls.connect(p, origin)) for p in DEFAULT_PORTS]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        chosen = None
        for r in results:
            if isinstance(r, Mohor):
                if chosen is None:
                    chosen = r
                else:
                    await r.close()
        if chosen is None:
            raise MohorError("NOT_RUNNING", f"no answer on ports {DEFAULT_PORTS}")
        return chosen

    async def close(self):
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self):
        lost = None
        try:
            async for raw in self.ws:
                if not isinstance(raw, str):
                    print("warning: Mohor sent a binary frame; ignored", file=sys.stderr)
                    continue
                try:
                    msg = json.loads(raw)
                except ValueError:
                    print("warning: Mohor sent a frame that is not JSON; ignored", file=sys.stderr)
                    continue
                if not isinstance(msg, dict):
                    continue
                if "id" not in msg:
                    # A notification: only "progress" is documented.
                    params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
                    callback = self._progress.get(params.get("id"))
                    if msg.get("method") == "progress" and callback:
                        callback(params.get("stage"))
                    continue
                future = self._pending.get(msg["id"])
                if future is not None and not future.done():
                    future.set_result(msg)
                elif msg["id"] is None and "error" in msg:
                    # -32700: Mohor could not parse one of our frames; we cannot tell which.
                    print(f"warning: {MohorError.from_answer(None, msg['error'])}", file=sys.stderr)
        except ConnectionClosed as e:
            lost = e
        finally:
            rcvd = getattr(self.ws, "close_code", None)
            why = getattr(self.ws, "close_reason", "") or ""
            for future in self._pending.values():
                if not future.done():
                    reason = "TOO_LARGE" if rcvd == 1009 else "CONNECTION_LOST"
                    future.set_exception(
                        MohorError(reason, f"connection closed (code {rcvd} {why}) {lost or ''}")
                    )

    async def call(self, method, params=None, on_progress=None):
        """Send one request and return its result; a $download stub is fetched whole."""
        request_id = next(self._ids)
        request = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        text = json.dumps(request, separators=(",", ":"))
        if len(text.encode("utf-8")) > MAX_MESSAGE:
            raise MohorError("TOO_LARGE", "request larger than one message; use upload", method=method)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        if on_progress:
            self._progress[request_id] = on_progress
        try:
            try:
                await self.ws.send(text)
            except ConnectionClosed as e:
                raise MohorError("CONNECTION_LOST", str(e), method=method) from None
            try:
                answer = await asyncio.wait_for(future, REQUEST_TIMEOUT)
            except asyncio.TimeoutError:
                await self.cancel(request_id)
                raise MohorError("TIMEOUT", "no answer in time", method=method) from None
        except MohorError as e:
            e.method = e.method or method
            raise
        finally:
            self._pending.pop(request_id, None)
            self._progress.pop(request_id, None)
        if "error" in answer:
            raise MohorError.from_answer(method, answer["error"])
        if "result" not in answer:
            raise protocol_error(method, f"answer has neither result nor error: {str(answer)[:200]}")
        result = answer["result"]
        if isinstance(result, dict) and set(result) == {"$download"}:
            result = await self._download(method, result["$download"])
        return result

    async def cancel(self, request_id):
        try:
            await self.call("cancel", {"id": request_id})
        except MohorError as e:
            print(f"warning: cancel failed: {e}", file=sys.stderr)

    # -- large documents ---------------------------------------------------

    async def upload(self, data):
        """Chunked upload (PROTOCOL.md "Upload"); returns the uploadId."""
        begin = await self.call(
            "upload.begin", {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
        upload_id = expect("upload.begin", begin, "uploadId", str)
        chunk_size = expect("upload.begin", begin, "chunkSize", int)
        if chunk_size <= 0:
            raise protocol_error("upload.begin", f"chunkSize {chunk_size}")
        chunks = 0
        try:
            offset = 0
            complete = False
            while offset < len(data):
                piece = data[offset : offset + chunk_size]
                answer = await self.call(
                    "upload.chunk",
                    {
                        "uploadId": upload_id,
                        "offset": offset,
                        "data": base64.b64encode(piece).decode("ascii"),
                    },
                )
                chunks += 1
                offset += len(piece)
                received = expect("upload.chunk", answer, "received", int)
                complete = expect("upload.chunk", answer, "complete", bool)
                if received != offset:
                    raise protocol_error(
                        "upload.chunk", f"Mohor says it received {received} bytes; we sent {offset}"
                    )
            if not complete:
                raise protocol_error("upload.chunk", "last chunk sent but upload not complete")
        except BaseException:
            try:
                await self.call("upload.cancel", {"uploadId": upload_id})
            except MohorError:
                pass  # the upload is dropped with the connection anyway
            raise
        self.stats["uploads"].append({"size": len(data), "chunkSize": chunk_size, "chunks": chunks})
        return upload_id

    async def binary(self, data):
        """A binary field: base64 inline, or {"upload": id} when it would not fit."""
        if len(data) <= INLINE_LIMIT:
            return base64.b64encode(data).decode("ascii")
        return {"upload": await self.upload(data)}

    async def _download(self, method, stub):
        """Fetch an answer that came back as {"$download": {...}}."""
        download_id = expect(method, stub, "downloadId", str)
        size = stub.get("size")
        pieces = []
        offset = 0
        try:
            while True:
                answer = await self.call(
                    "download.read", {"downloadId": download_id, "offset": offset}
                )
                pieces.append(expect("download.read", answer, "text", str))
                if expect("download.read", answer, "done", bool):
                    break
                following = expect("download.read", answer, "next", int)
                if following <= offset:
                    raise protocol_error("download.read", f"next {following} after offset {offset}")
                offset = following
        except BaseException:
            try:
                await self.call("download.discard", {"downloadId": download_id})
            except MohorError:
                pass
            raise
        text = "".join(pieces)
        length = len(text.encode("utf-8"))
        if isinstance(size, int) and size != length:
            print(f"warning: download size {size} but {length} bytes of text", file=sys.stderr)
        self.stats["downloads"].append({"size": size, "textBytes": length, "pieces": len(pieces)})
        try:
            return json.loads(text)
        except ValueError as e:
            raise protocol_error(method, f"downloaded answer is not JSON: {e}") from None


# -- the client's job -------------------------------------------------------


def progress_printer(label, stages):
    def on_progress(stage):
        stages.append(stage)
        print(f"[{label}] {stage}", file=sys.stderr)

    return on_progress


async def choose_certificate(mohor, wanted):
    result = await mohor.call("certificates.list", {"filter": {"validNow": True}})
    certificates = expect("certificates.list", result, "certificates", list)
    usable = [c for c in certificates if isinstance(c, dict) and c.get("usable") is True]
    if wanted:
        match = [c for c in usable if c.get("id") == wanted]
        if not match:
            raise MohorError("NO_MATCHING_CERTIFICATE", f"certificate {wanted} is not usable here")
        return certificates, match[0]
    if not usable:
        raise MohorError("NO_MATCHING_CERTIFICATE", "no usable certificate on the tokens present")
    return certificates, usable[0]


async def sign_pdf(mohor, path, out_dir, certificate_id):
    data = path.read_bytes()
    stages = []
    uploads_before = len(mohor.stats["uploads"])
    downloads_before = len(mohor.stats["downloads"])
    params = {
        "document": await mohor.binary(data),
        "fileName": path.name,
        "reason": "Approved",
        "location": "New Delhi",
        "appearance": "auto",
    }
    if certificate_id:
        params["certificateId"] = certificate_id
    result = await mohor.call("sign.pdf", params, progress_printer(path.name, stages))
    signed = b64decode("sign.pdf", expect("sign.pdf", result, "document", str))
    out = out_dir / (path.stem + ".signed.pdf")
    out.write_bytes(signed)
    return {
        "input": str(path),
        "output": str(out),
        "inputSize": len(data),
        "outputSize": len(signed),
        "uploaded": len(mohor.stats["uploads"]) > uploads_before,
        "downloaded": len(mohor.stats["downloads"]) > downloads_before,
        "signer": result.get("signer"),
        "field": result.get("field"),
        "certificateId": result.get("certificateId"),
        "progress": stages,
    }


async def sign_text(mohor, text, out_dir, certificate_id):
    data = text.encode("utf-8")
    (out_dir / "text.txt").write_bytes(data)
    stages = []
    params = {"data": await mohor.binary(data)}
    if certificate_id:
        params["certificateId"] = certificate_id
    result = await mohor.call("sign.data", params, progress_printer("text", stages))
    signature = b64decode("sign.data", expect("sign.data", result, "signature", str))
    (out_dir / "text.txt.p7s").write_bytes(signature)
    return {
        "data": str(out_dir / "text.txt"),
        "signature": str(out_dir / "text.txt.p7s"),
        "signer": result.get("signer"),
        "certificateId": result.get("certificateId"),
        "progress": stages,
    }


async def sign_digest(mohor, path, out_dir, certificate_id):
    digest = hashlib.sha256(path.read_bytes()).digest()
    stages = []
    params = {"digest": base64.b64encode(digest).decode("ascii"), "digestAlgorithm": "sha256"}
    if certificate_id:
        params["certificateId"] = certificate_id
    result = await mohor.call("sign.hash", params, progress_printer("hash", stages))
    signature = b64decode("sign.hash", expect("sign.hash", result, "signature", str))
    (out_dir / "hash.p7s").write_bytes(signature)
    return {
        "input": str(path),
        "sha256": digest.hex(),
        "signature": str(out_dir / "hash.p7s"),
        "signer": result.get("signer"),
        "certificateId": result.get("certificateId"),
        "progress": stages,
    }


async def probe_errors(mohor):
    """Requests the docs say Mohor refuses, to show what the error answers look like."""
    probes = {
        # -32602: "wrong digest length"
        "wrong_digest_length": (
            "sign.hash",
            {"digest": base64.b64encode(b"\0" * 31).decode(), "digestAlgorithm": "sha256"},
        ),
        # -32601: unknown method
        "unknown_method": ("sign.everything", {}),
        # -32600: "a PIN field" anywhere in the request
        "pin_field": ("sign.data", {"data": "SGVsbG8=", "pin": "000000"}),
    }
    seen = {}
    for name, (method, params) in probes.items():
        try:
            result = await mohor.call(method, params)
            seen[name] = {"unexpected_result": result}
        except MohorError as e:
            print(f"[probe {name}] refused as expected: {e}", file=sys.stderr)
            seen[name] = e.as_json()
    return seen


async def run(args):
    out_dir = Path(args.outdir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.port == "auto":
        mohor = await Mohor.discover(args.origin)
    else:
        mohor = await Mohor.connect(int(args.port), args.origin)
    summary = {"port": mohor.port, "hello": mohor.hello}
    try:
        needed = {"certificates.list", "sign.pdf", "sign.data", "sign.hash", "upload", "download"}
        capabilities = mohor.hello.get("capabilities")
        missing = sorted(needed - set(capabilities if isinstance(capabilities, list) else []))
        if missing:
            raise protocol_error("hello", f"Mohor lacks capabilities {missing}")
        certificates, chosen = await choose_certificate(mohor, args.cert)
        summary["certificates"] = certificates
        summary["certificate"] = chosen
        cert_id = chosen.get("id")
        summary["pdfs"] = [await sign_pdf(mohor, Path(p), out_dir, cert_id) for p in args.pdf]
        if args.text is not None:
            summary["text"] = await sign_text(mohor, args.text, out_dir, cert_id)
        if args.hash_input:
            summary["hash"] = await sign_digest(mohor, Path(args.hash_input), out_dir, cert_id)
        if not args.no_probes:
            summary["probes"] = await probe_errors(mohor)
        summary["transfers"] = mohor.stats
    finally:
        await mohor.close()
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", help='the agent\'s port, or "auto" for 21760-21763')
    parser.add_argument("outdir", help="where the signed files go")
    parser.add_argument("--origin", default="http://127.0.0.1:8765", help="Origin header to send")
    parser.add_argument("--cert", help="certificate id to propose (from certificates.list)")
    parser.add_argument("--pdf", action="append", default=[], help="a PDF to sign (repeatable)")
    parser.add_argument("--text", help="a text to sign with sign.data")
    parser.add_argument("--hash-input", help="a file whose SHA-256 is signed with sign.hash")
    parser.add_argument("--no-probes", action="store_true", help="skip the error probes")
    args = parser.parse_args()
    if args.port != "auto" and not args.port.isdigit():
        parser.error("PORT must be a number or 'auto'")
    try:
        summary = asyncio.run(run(args))
    except MohorError as e:
        print(f"error: {e}", file=sys.stderr)
        print(json.dumps({"error": e.as_json()}))
        return 1
    except OSError as e:  # our own files
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
