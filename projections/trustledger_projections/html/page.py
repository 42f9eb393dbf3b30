"""The page around a report: head, Content-Security-Policy, provenance, navigation.

The policy is ``default-src 'none'`` with the one inline stylesheet and the one inline
script allowed by their SHA-256 (CSP Level 2 hash sources): the browser fetches nothing and
runs nothing else, so the page works offline and text that slipped into the markup could
not run even if escaping failed.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from trustledger_projections.html.script import SCRIPT
from trustledger_projections.html.style import CSS
from trustledger_projections.provenance import Provenance

__all__ = ["CONTENT_SECURITY_POLICY", "page", "provenance_block"]


def _source_hash(text: str) -> str:
    # CSP Level 2, "hash-source": base64 of SHA-256 over the UTF-8 bytes of the element's text.
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_source_hash(CSS)}; script-src {_source_hash(SCRIPT)}; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)


def provenance_block(provenance: Provenance) -> str:
    """The ledger size, head, latest checkpoint and digest, as a definition list."""
    checkpoint = provenance.checkpoint
    if checkpoint is None:
        signed = "none (no checkpoint signed yet)"
    else:
        signed = (
            f"size {checkpoint.size}, root hash <code>{escape(checkpoint.root_hash)}</code>, "
            f"origin <code>{escape(checkpoint.origin)}</code>"
        )
    head = provenance.head_hash
    rows = (
        ("Ledger entries", str(provenance.ledger_size)),
        ("Head chain hash", f"<code>{escape(head)}</code>" if head else "none (empty ledger)"),
        ("Latest checkpoint", signed),
        ("Report digest", f"<code>{escape(provenance.digest)}</code> (SHA-256 of the JSON)"),
    )
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        '<section class="provenance" id="provenance" aria-labelledby="provenance-h">'
        '<h2 id="provenance-h">Provenance</h2>'
        f"<dl>{items}</dl></section>"
    )


def page(*, title: str, heading: str, meta: str, provenance: Provenance, body: str) -> str:
    """A complete HTML document: ``meta`` and ``body`` are markup already escaped."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{escape(heading)}</h1><p class="meta">{meta}</p>'
        f"{provenance_block(provenance)}{body}"
        f"</main><script>{SCRIPT}</script></body></html>\n"
    )
