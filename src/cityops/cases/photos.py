"""Checking and cleaning uploaded photos (等保 2.0 入侵防范 / 个人信息保护).

A photo is accepted only if Pillow decodes it as JPEG, PNG or WebP (by content, never by
name or declared type), and only if its declared dimensions stay under
`settings.CITYOPS_MAX_IMAGE_PIXELS`, checked from the header before any pixel is decoded, so
a small file that unpacks to gigabytes (a decompression bomb) costs nothing. What is stored
for display is a re-encoding of the pixels alone: EXIF (GPS, camera serial, time), XMP, ICC,
text chunks and any bytes appended to the file (polyglots) are gone, with the camera's
orientation applied first so the picture is upright.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from PIL import Image, ImageOps, UnidentifiedImageError

# MPO is how Pillow names the multi-picture JPEGs that many phone cameras write.
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"),
}
NOT_IMAGE = "只能上传 JPEG、PNG 或 WebP 图片，该文件不是有效图片。"
UNSUPPORTED = "只能上传 JPEG、PNG 或 WebP 图片。"
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


class PhotoRejected(ValueError):
    """The upload is not a photo we store; `message` is for the user, `code` for the API."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class CleanPhoto:
    """A photo re-encoded without metadata, plus what was read from the original."""

    data: bytes
    content_type: str
    ext: str
    width: int
    height: int
    gps: dict | None


def max_pixels() -> int:
    return int(settings.CITYOPS_MAX_IMAGE_PIXELS)


def set_pillow_guard() -> None:
    """Pillow's own decompression-bomb guard (it raises beyond twice MAX_IMAGE_PIXELS and warns
    beyond it) set deliberately to our limit rather than left at its 89-megapixel default, for
    every Image.open in the process, not only the ones below."""
    Image.MAX_IMAGE_PIXELS = max_pixels()


set_pillow_guard()


@receiver(setting_changed)
def _limit_changed(*, setting: str, **kwargs) -> None:
    if setting == "CITYOPS_MAX_IMAGE_PIXELS":  # override_settings in tests, both ways
        set_pillow_guard()


def _open(raw: bytes) -> Image.Image:
    """Open (header only) and check format and dimensions; nothing is decoded yet."""
    if max_pixels() != Image.MAX_IMAGE_PIXELS:
        set_pillow_guard()
    with warnings.catch_warnings():
        # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; make it a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRejected(f"图片尺寸过大，上限为 {max_pixels() // 1_000_000} 百万像素。", "too_many_pixels") from None
        except _DECODE_ERRORS:
            raise PhotoRejected(NOT_IMAGE, "not_image") from None
    if image.format not in IMAGE_FORMATS:
        raise PhotoRejected(UNSUPPORTED, "unsupported_format")
    width, height = image.size
    if width <= 0 or height <= 0:
        raise PhotoRejected(NOT_IMAGE, "not_image")
    if width * height > max_pixels():
        raise PhotoRejected(
            f"图片尺寸过大（{width}×{height} 像素），上限为 {max_pixels() // 1_000_000} 百万像素。", "too_many_pixels"
        )
    return image


def photo_check(raw: bytes) -> None:
    """The cheap check forms run before anything is written: format, dimensions and the
    file's structure (`verify`), without decoding the pixels."""
    _open(raw)
    try:
        Image.open(io.BytesIO(raw)).verify()
    except _DECODE_ERRORS:
        raise PhotoRejected(NOT_IMAGE, "not_image") from None


def photo_sanitize(raw: bytes, *, read_gps: bool = False) -> CleanPhoto:
    """Decode `raw` and re-encode its pixels alone (see the module docstring).

    `read_gps` returns the EXIF position (an inspector's photo is evidence of where they
    stood); the cleaned bytes never contain it."""
    image = _open(raw)
    try:
        image.load()
        gps = gps_from_exif(image) if read_gps else None
        upright = ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        raise PhotoRejected(NOT_IMAGE, "not_image") from None
    content_type, ext = IMAGE_FORMATS[image.format or ""]
    save_format = "JPEG" if image.format in ("JPEG", "MPO") else image.format
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    if save_format == "JPEG":
        mode = "L" if upright.mode in ("L", "1", "I;16", "I") else "RGB"
    else:
        mode = "RGBA" if has_alpha else "RGB"
    clean = upright.convert(mode)
    # convert() copies .info (exif, xmp, icc_profile, dpi, PNG text); encoders fall back to it.
    clean.info = {}
    out = io.BytesIO()
    options = {"quality": 90} if save_format in ("JPEG", "WEBP") else {"optimize": False}
    clean.save(out, format=save_format, **options)
    return CleanPhoto(data=out.getvalue(), content_type=content_type, ext=ext, width=clean.width, height=clean.height, gps=gps)


def gps_from_exif(image: Image.Image) -> dict | None:
    """{"lat", "lon"} from the EXIF GPS block (cameras write WGS-84), or None."""
    try:
        gps = image.getexif().get_ifd(0x8825)
    except Exception:  # a broken EXIF block only means "no position"
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None

    def degrees(value) -> float:
        d, m, s = (float(x) for x in value)
        return d + m / 60 + s / 3600

    try:
        lat = degrees(gps[2]) * (-1 if gps.get(1) == "S" else 1)
        lon = degrees(gps[4]) * (-1 if gps.get(3) == "W" else 1)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return {"lat": round(lat, 7), "lon": round(lon, 7)}


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


def display_name(name: str | None, *, limit: int = 100) -> str:
    """The client's file name as harmless display text: no directories, control or
    direction-override characters, at most `limit` characters (the extension kept).
    It is never part of a storage path; stored files get generated names."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch) not in ("Cc", "Cf"))
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if len(base) > limit:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: limit - len(suffix) - 1] + "." + suffix) if dot and len(suffix) <= 10 else base[:limit]
    return base or "photo"
