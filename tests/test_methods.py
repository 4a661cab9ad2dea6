"""Tests of kmeans_lib.methods: every method's palette and redraw, Pillow's own, notes."""

from __future__ import annotations

import math
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image as PILImage

from kmeans_lib import methods
from kmeans_lib.errors import InputError
from kmeans_lib.figures import methods_figure
from kmeans_lib.images import Image, load_sample, resize_to_fit
from kmeans_lib.methods import (
    FRAME_COLUMNS,
    compare_methods,
    comparison_frame,
    libimagequant_available,
    method_keys,
    quantize_with,
)
from kmeans_lib.metrics import quality
from kmeans_lib.perception import flip_difference
from kmeans_lib.rendering import redraw

RUNNABLE = [key for key in method_keys() if key != "libimagequant" or libimagequant_available()]


@pytest.fixture(scope="module")
def photo() -> Image:
    """china.jpg shrunk to 120 × 80: thousands of colours, quick to reduce."""
    return resize_to_fit(load_sample("china"), 120)


@pytest.fixture(scope="module")
def transparent(photo: Image) -> Image:
    opaque = np.ones(photo.pixels.shape[:2], dtype=bool)
    opaque[:20, :30] = False
    return Image(photo.pixels, opaque)


@pytest.mark.parametrize("key", RUNNABLE)
@pytest.mark.parametrize("k", [1, 5, 16])
def test_every_method_gives_a_palette_of_at_most_k_colours_and_a_redraw(photo, key, k):
    result = quantize_with(photo, k, key)
    assert 1 <= result.n_colours <= k
    assert result.palette.dtype == np.uint8 and result.palette.shape == (result.n_colours, 3)
    assert len(np.unique(result.palette, axis=0)) <= result.n_colours
    assert result.labels.shape == (photo.height, photo.width)
    assert result.labels.min() >= 0 and result.labels.max() < result.n_colours
    assert result.counts.sum() == photo.n_pixels and (result.counts > 0).all()
    assert np.all(np.diff(result.counts) <= 0), "most used colour first"
    painted = redraw(photo, result)
    assert {tuple(c) for c in painted.reshape(-1, 3).tolist()} <= {
        tuple(c) for c in result.palette.tolist()
    }
    assert result.fit_seconds >= 0


@pytest.mark.parametrize("key", RUNNABLE)
def test_transparent_pixels_stay_transparent_in_every_method(transparent, key):
    result = quantize_with(transparent, 6, key)
    assert (result.labels[~transparent.opaque] == -1).all()
    assert (result.labels[transparent.opaque] >= 0).all()
    assert result.counts.sum() == transparent.n_opaque


@pytest.mark.parametrize(
    ("key", "pillow_method"),
    [
        ("median_cut", PILImage.Quantize.MEDIANCUT),
        ("octree", PILImage.Quantize.FASTOCTREE),
        ("max_coverage", PILImage.Quantize.MAXCOVERAGE),
    ],
)
@pytest.mark.parametrize("k", [4, 16])
def test_pillow_methods_match_calling_pillow_directly(photo, key, pillow_method, k):
    direct = PILImage.fromarray(photo.pixels).quantize(k, method=pillow_method)
    expected = np.asarray(direct.convert("RGB"))
    result = quantize_with(photo, k, key)
    np.testing.assert_array_equal(redraw(photo, result), expected)


def test_kmeans_methods_are_this_librarys_quantize(photo):
    from kmeans_lib.clustering import quantize

    for space in ("rgb", "lab"):
        ours = quantize_with(photo, 6, f"kmeans_{space}", random_state=3)
        np.testing.assert_array_equal(
            ours.palette, quantize(photo, 6, colour_space=space, random_state=3).palette
        )


def test_kmeans_on_a_sample_fits_1000_pixels_and_is_close_to_the_full_fit(photo):
    sampled = quality(photo, quantize_with(photo, 8, "kmeans_sample"))
    full = quality(photo, quantize_with(photo, 8, "kmeans_rgb"))
    # A fit on 1,000 pixels is a little worse, never far off, on a picture of 9,600.
    assert full.psnr - 1.5 < sampled.psnr <= full.psnr + 0.3


def test_fewer_colours_than_k_gives_a_note(photo):
    flat = Image(np.repeat(np.array([[[10, 20, 30], [200, 100, 0]]], np.uint8), 10, axis=0))
    for key in RUNNABLE:
        result = quantize_with(flat, 5, key)
        assert result.n_colours == 2, key
        assert "only 2 distinct colours" in result.note


def test_compare_methods_measures_every_method(photo):
    seen = []
    results = compare_methods(photo, 8, progress=seen.append)
    assert [r.key for r in results] == list(method_keys())
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    for result in results:
        if result.key == "libimagequant" and not libimagequant_available():
            assert not result.ok and "without libimagequant" in result.note
            continue
        assert result.ok, result.note
        assert result.seconds >= 0 and result.png_size > 0
        assert 0 < result.quality.psnr < 60 and result.quality.mean_delta_e > 0
        assert 0 < result.flip < 1
        assert max(result.preview.height, result.preview.width) <= methods.PREVIEW_MAX_SIDE
        preview_colours = {tuple(c) for c in result.preview.pixels.reshape(-1, 3).tolist()}
        assert preview_colours <= {tuple(c) for c in result.palette.tolist()}
    frame = comparison_frame(results)
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert len(frame) == sum(r.ok for r in results)
    assert len(methods_figure(results).data[0].x) == len(frame)


def test_kmeans_has_the_best_psnr_among_methods(photo):
    # k-means minimises the squared error PSNR measures: the RGB fit beats the
    # histogram recipes on a photo.
    results = {r.key: r for r in compare_methods(photo, 16) if r.ok}
    best_other = max(
        r.quality.psnr for key, r in results.items() if key in ("median_cut", "octree")
    )
    assert results["kmeans_rgb"].quality.psnr > best_other


def test_a_failing_method_gives_a_note_and_the_others_still_run(photo, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of cheese")

    monkeypatch.setattr(methods, "_bisecting", broken)
    results = {r.key: r for r in compare_methods(photo, 4, methods=["bisecting", "octree"])}
    assert not results["bisecting"].ok
    assert "failed" in results["bisecting"].note and "out of cheese" in results["bisecting"].note
    assert results["octree"].ok


def test_a_method_expected_to_take_too_long_is_not_started(photo, monkeypatch):
    monkeypatch.setitem(methods._EXPECTED_RATE, "max_coverage", 1.0)  # a second per colour

    def never(*args, **kwargs):
        raise AssertionError("started anyway")

    monkeypatch.setattr(methods, "_pillow", never)
    results = compare_methods(photo, 64, methods=["max_coverage", "kmeans_rgb"])
    assert not results[0].ok and results[0].note.startswith("Left out")
    assert "over the 10 s limit" in results[0].note
    assert results[1].ok


def test_a_method_that_takes_too_long_is_left_out_and_the_others_still_run(photo, monkeypatch):
    release = threading.Event()
    real = methods._bisecting

    def slow(*args, **kwargs):
        release.wait(60)  # held until the comparison has given up on it
        return real(*args, **kwargs)

    monkeypatch.setattr(methods, "_bisecting", slow)
    started = time.perf_counter()
    try:
        results = compare_methods(photo, 4, methods=["bisecting", "octree"], max_seconds=2.0)
    finally:
        release.set()
    assert time.perf_counter() - started < 30
    assert not results[0].ok and "longer than 2 s" in results[0].note
    assert results[1].ok


def test_unknown_methods_are_refused(photo):
    with pytest.raises(InputError, match="no colour-reduction method"):
        quantize_with(photo, 4, "magic")
    with pytest.raises(InputError, match="no colour-reduction method"):
        compare_methods(photo, 4, methods=["octree", "magic"])


def test_a_fully_transparent_picture_is_refused():
    image = Image(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), dtype=bool))
    with pytest.raises(InputError, match="transparent"):
        quantize_with(image, 2, "octree")


def test_without_a_time_limit_every_method_is_waited_for(photo):
    results = compare_methods(photo, 4, methods=["max_coverage", "octree"], max_seconds=math.inf)
    assert all(result.ok for result in results)


def test_median_cut_is_expected_too_slow_on_a_12_megapixel_photo_but_not_on_china():
    china, photo_12mp = SimpleNamespace(n_colours=96_615), SimpleNamespace(n_colours=1_512_063)
    assert methods.expected_seconds("median_cut", china, 16) < methods.MAX_SECONDS
    assert methods.expected_seconds("median_cut", photo_12mp, 16) > methods.MAX_SECONDS
    # Its time hardly depends on k, unlike maximum coverage's.
    assert methods.expected_seconds("median_cut", china, 256) == pytest.approx(
        methods.expected_seconds("median_cut", china, 2)
    )
    assert methods.expected_seconds("octree", photo_12mp, 256) is None


def test_colours_counted_already_are_used_for_the_time_estimates(photo, monkeypatch):
    counted = methods.count_colours(photo)

    def again(*args, **kwargs):
        raise AssertionError("counted the colours again")

    monkeypatch.setattr(methods, "count_colours", again)
    results = compare_methods(photo, 4, methods=["max_coverage"], colours=counted)
    assert results[0].ok


def test_each_methods_flip_is_that_of_its_redraw_as_seen():
    china = load_sample("china")  # 273,280 pixels at laptop distance: more than sampled
    results = compare_methods(china, 16, methods=["kmeans_rgb", "octree"])
    for result in results:
        redrawn = redraw(china, quantize_with(china, 16, result.key))
        whole = flip_difference(china, redrawn, "laptop").mean
        # Measured on the same windows for every method: close to the whole picture's mean.
        assert result.flip == pytest.approx(whole, rel=0.1)
    kmeans, octree = results
    assert kmeans.flip < octree.flip
    hover = methods_figure(results).data[0]
    assert "visible difference (FLIP) %{customdata[1]:.3f}" in hover.hovertemplate
    assert [row[1] for row in hover.customdata] == [kmeans.flip, octree.flip]
    assert comparison_frame(results)["Visible difference (FLIP)"].tolist() == [
        kmeans.flip,
        octree.flip,
    ]


def test_a_longer_viewing_distance_hides_more_of_every_method(photo):
    near = compare_methods(photo, 8, methods=["median_cut"], viewing="phone")[0]
    far = compare_methods(photo, 8, methods=["median_cut"], viewing="poster")[0]
    assert far.flip < near.flip
