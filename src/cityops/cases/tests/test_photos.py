"""Uploaded photos: only real JPEG/PNG/WebP of sane dimensions are stored, always re-encoded
without metadata (EXIF GPS above all), upright, under a generated name. The files here are
crafted byte by byte: a camera JPEG with GPS, a text file called .jpg, PNG headers that
claim gigapixels, a JPEG with a web page appended."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from cityops.cases.errors import ValidationFailed
from cityops.cases.photos import PhotoRejected, display_name, photo_check, photo_sanitize
from cityops.cases.services import attachment_add
from cityops.cases.tests.factories import make_case

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# 36°37'12" N, 101°48'36" E: a spot in Xining.
GPS = {1: "N", 2: (36.0, 37.0, 12.0), 3: "E", 4: (101.0, 48.0, 36.0)}


def camera_jpeg(size=(64, 48), orientation: int | None = None, extra: bytes = b"") -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    image.paste((0, 0, 255), (0, 0, 16, 16))  # a blue top-left corner, to tell the corners apart after rotation
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera 1.0"  # Software
    exif.get_ifd(GPS_IFD).update(GPS)
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"taken at home", icc_profile=b"\0" * 128)
    return out.getvalue() + extra


def png_claiming(width: int, height: int) -> bytes:
    """A real 1×1 PNG whose IHDR then claims `width`×`height` (CRC fixed up): the header is
    all Pillow reads before it knows the size."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def metadata_of(data: bytes) -> dict:
    image = Image.open(io.BytesIO(data))
    return {"exif": dict(image.getexif()), "info": set(image.info) - {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}}


# ---------------------------------------------------------------- sanitizing


def test_the_cleaned_photo_has_no_exif_gps_comment_or_icc_profile():
    raw = camera_jpeg()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(GPS_IFD)  # the input really has GPS
    clean = photo_sanitize(raw, read_gps=True)
    assert clean.gps == {"lat": pytest.approx(36.62, abs=1e-6), "lon": pytest.approx(101.81, abs=1e-6)}
    assert metadata_of(clean.data) == {"exif": {}, "info": set()}
    assert b"PhoneMaker" not in clean.data and b"taken at home" not in clean.data
    assert clean.content_type == "image/jpeg" and clean.ext == "jpg"


def test_gps_is_not_even_read_unless_asked():
    assert photo_sanitize(camera_jpeg()).gps is None


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_lose_their_exif_and_text_chunks(fmt):
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update(GPS)
    out = io.BytesIO()
    options = {"exif": exif}
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        text = PngInfo()
        text.add_text("Comment", "home address")
        options["pnginfo"] = text
    Image.new("RGBA", (20, 10), (1, 2, 3, 128)).save(out, format=fmt, **options)
    clean = photo_sanitize(out.getvalue())
    assert metadata_of(clean.data)["exif"] == {}
    assert b"home address" not in clean.data
    assert Image.open(io.BytesIO(clean.data)).mode == "RGBA"  # transparency survives


def test_the_camera_orientation_is_applied_before_the_tag_is_dropped():
    clean = photo_sanitize(camera_jpeg(size=(64, 48), orientation=6))  # 6: rotate 90° clockwise to view
    image = Image.open(io.BytesIO(clean.data))
    assert image.size == (48, 64)
    assert ORIENTATION not in image.getexif()
    r, _g, b = image.getpixel((40, 8))  # the blue top-left corner is now top-right
    assert b > 150 and r < 100
    r, _g, b = image.getpixel((8, 8))
    assert r > 150 and b < 100


def test_bytes_appended_to_a_photo_do_not_survive():
    payload = b"<html><script>alert(1)</script></html>PK\x03\x04"
    clean = photo_sanitize(camera_jpeg(extra=payload))
    assert b"<script>" not in clean.data and b"PK\x03\x04" not in clean.data


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"just some text, saved as holiday.jpg\n" * 20, "not_image"),
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "not_image"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 64, "not_image"),  # a JPEG signature and nothing behind it
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,"
         b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "unsupported_format"),
    ],
)
def test_non_photos_are_refused_whatever_their_name(data, code):
    with pytest.raises(PhotoRejected) as refused:
        photo_check(data)
    assert refused.value.code == code
    assert "只能上传 JPEG、PNG 或 WebP 图片" in refused.value.message
    with pytest.raises(PhotoRejected):
        photo_sanitize(data)


@pytest.mark.parametrize("size", [(100_000, 100_000), (9_000, 9_000)])  # beyond Pillow's own guard; beyond ours only
def test_a_png_header_claiming_huge_dimensions_is_refused_before_decoding(size):
    data = png_claiming(*size)
    assert len(data) < 100
    with pytest.raises(PhotoRejected) as refused:
        photo_check(data)
    assert refused.value.code == "too_many_pixels" and "图片尺寸过大" in refused.value.message
    with pytest.raises(PhotoRejected):
        photo_sanitize(data)


@override_settings(CITYOPS_MAX_IMAGE_PIXELS=1000)
def test_the_pixel_limit_comes_from_the_settings():
    with pytest.raises(PhotoRejected, match="图片尺寸过大"):  # Pillow's guard, set to the same limit, refuses first
        photo_check(camera_jpeg(size=(64, 48)))
    photo_check(camera_jpeg(size=(40, 20)))


# ---------------------------------------------------------------- storing


@pytest.mark.django_db
def test_a_citizen_photo_is_stored_only_without_metadata_under_a_generated_name():
    case = make_case()
    upload = SimpleUploadedFile("../../etc/我家门口\u202egpj.exe.jpg", camera_jpeg(), content_type="image/jpeg")
    attachment = attachment_add(case=case, upload=upload, kind="before")
    for stored in (attachment.file, attachment.public_file):
        assert "etc" not in stored.name and "我家" not in stored.name and stored.name.endswith(".jpg")
        with stored.open("rb") as fh:
            assert metadata_of(fh.read())["exif"] == {}
    assert attachment.gps is None
    assert attachment.original_name == "我家门口gpj.exe.jpg"  # display text only, override char gone


@pytest.mark.django_db
def test_an_inspector_photo_keeps_its_position_as_data_and_its_original_privately():
    case = make_case()
    raw = camera_jpeg()
    attachment = attachment_add(case=case, upload=SimpleUploadedFile("p.jpg", raw), kind="verify", keep_gps=True)
    assert attachment.gps == {"lat": pytest.approx(36.62, abs=1e-6), "lon": pytest.approx(101.81, abs=1e-6)}
    with attachment.file.open("rb") as fh:
        assert fh.read() == raw  # the evidence, served only to staff as "原图"
    with attachment.public_file.open("rb") as fh:
        assert metadata_of(fh.read())["exif"] == {}


@pytest.mark.django_db
def test_the_service_refuses_a_text_file_called_jpg_and_stores_nothing():
    case = make_case()
    upload = SimpleUploadedFile("photo.jpg", b"<?php system($_GET['c']); ?>", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as refused:
        attachment_add(case=case, upload=upload, kind="before")
    assert refused.value.details == {"file": "not_image"}
    assert not case.attachments.exists()


def test_display_names_are_plain_text():
    assert display_name("C:\\Users\\me\\照片.JPG") == "照片.JPG"
    assert display_name("../../x.jpg") == "x.jpg"
    assert display_name("a\x00b<script>.png") == "ab_script_.png"
    assert display_name("") == "photo"
    long = display_name("很" * 300 + ".jpeg")
    assert len(long) == 100 and long.endswith(".jpeg")
