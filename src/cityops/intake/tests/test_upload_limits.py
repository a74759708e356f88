"""Finding 8 (uploads): a small PNG that unpacks to a 7999 × 7999 image is refused on the
anonymous /report/ page from its header, in milliseconds, before anything is decoded or written;
and photos have their own per-address budget on that page."""

import io
import struct
import time
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from cityops.cases.models import Attachment, Case
from cityops.cases.photos import max_pixels
from cityops.intake.tests.support import report_data

pytestmark = pytest.mark.django_db


def bilevel_png(width: int, height: int) -> bytes:
    """A real, decodable PNG of `width`×`height` black pixels at one bit per pixel: its zlib
    stream of zero rows compresses ~1000:1, so 7999² is ≈ 8 KB on disk (the probe's file was
    203 KB) and 64 megapixels (≈ 190 MB as RGB) once decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_the_default_limit_is_40_megapixels_and_pillows_guard_is_set_to_it(settings):
    assert max_pixels() == settings.CITYOPS_MAX_IMAGE_PIXELS == 40_000_000
    assert Image.MAX_IMAGE_PIXELS == 40_000_000


def test_a_7999_square_png_bomb_is_refused_on_the_citizen_page_in_milliseconds(client, geo, capsys):
    bomb = bilevel_png(7999, 7999)
    assert len(bomb) < 210_000
    client.post(reverse("intake:report"), report_data(description=""))  # warm up: templates, URL map, geo index
    started = time.perf_counter()
    response = client.post(reverse("intake:report"), report_data(photo=SimpleUploadedFile("a.png", bomb, content_type="image/png")))
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 400
    html = response.content.decode()
    assert "图片尺寸过大" in html and "上限为 40 百万像素" in html
    assert not Case.objects.exists() and not Attachment.objects.exists()
    with capsys.disabled():
        print(f"\n7999×7999 PNG ({len(bomb)} bytes) refused by POST /report/ in {elapsed_ms:.1f} ms")


def test_pillows_own_guard_follows_the_setting_for_every_image_open():
    with override_settings(CITYOPS_MAX_IMAGE_PIXELS=100):
        assert Image.MAX_IMAGE_PIXELS == 100
        with pytest.raises(Image.DecompressionBombError):
            Image.open(io.BytesIO(bilevel_png(20, 20)))  # beyond twice the limit, in any caller
    assert Image.MAX_IMAGE_PIXELS == 40_000_000


@override_settings(CITYOPS_RATE_LIMITS={"report_photo": (2, 3600)})
def test_photo_uploads_have_a_per_address_budget_on_the_citizen_page(client, geo, jpeg):
    for _ in range(2):
        assert client.post(reverse("intake:report"), report_data(photo=jpeg())).status_code == 302
    refused = client.post(reverse("intake:report"), report_data(photo=jpeg()))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "提交过于频繁" in refused.content.decode()
    assert Case.objects.count() == 2
    # A report without a photo from the same address, and a photo from another address, still go in.
    assert client.post(reverse("intake:report"), report_data()).status_code == 302
    assert client.post(reverse("intake:report"), report_data(photo=jpeg()), REMOTE_ADDR="10.0.0.9").status_code == 302
