"""The CSV files staff download (rosters, the call list, the indicators report), one shape for
the pages and the API: personal data, so never cached and never indexed."""

from __future__ import annotations

from litestar import Response

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


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
