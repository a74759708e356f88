"""Hostile files shared by the security tests."""

import io
import zipfile


def zip_bomb() -> bytes:
    """An .xlsx-named zip whose one member inflates from ~100 KB to 100 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (100 * 1024 * 1024))
    return buffer.getvalue()
