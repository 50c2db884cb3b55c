"""What every server-rendered page of Medic answers with (the approval page, the
dashboard): never framed (clickjacking its buttons), no sniffing, its capability URLs
never leaked as a Referer, nothing cached, and the page's own Content-Security-Policy."""

from __future__ import annotations


def page_headers(content_security_policy: str) -> dict[str, str]:
    """`content_security_policy` should end with `frame-ancestors 'none'` too: older
    browsers read only X-Frame-Options, newer ones only the CSP."""
    return {
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": content_security_policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
