"""The CSV files staff download (rosters, the call list, the indicators report), one shape for
the pages and the API: personal data, so never cached and never indexed."""

from __future__ import annotations

from litestar import Response

# Litestar adds "; charset=utf-8" to text/* types itself: naming it here sent it twice.
CSV_MEDIA_TYPE = "text/csv"


def csv_download(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
