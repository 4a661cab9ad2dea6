"""Batch tasks and the local engine, in this process (tests/test_cli.py runs the command line)."""

import numpy as np
import pytest
from PIL import Image as PILImage
from sklearn.datasets import load_sample_image
from threadpoolctl import threadpool_limits

from kmeans_lib import InputError, count_colours, quantize
from kmeans_lib.batch import (
    BatchOptions,
    Histogram,
    LocalEngine,
    add_histograms,
    combine_in_tree,
    fit_shared_palette,
    palette_record,
)
from kmeans_lib.images import Image, jpeg_palette_draft, load_image


def picture(seed: int, height: int = 20) -> Image:
    rng = np.random.default_rng(seed)
    return Image(pixels=rng.integers(0, 256, (height, 16, 3), dtype=np.uint8) // 32 * 32)


def test_added_histograms_count_every_pixel_of_both_pictures():
    a, b = picture(1), picture(2)
    total = add_histograms(
        Histogram(count_colours(a), 1), Histogram(count_colours(b), 1, (("x.png", "broken"),))
    )
    both = count_colours(Image(pixels=np.vstack([a.pixels, b.pixels])))
    assert np.array_equal(total.colours.colours, both.colours)
    assert np.array_equal(total.colours.counts, both.counts)
    assert (total.n_pictures, total.errors) == (2, (("x.png", "broken"),))


def test_shared_palette_equals_quantize_on_the_pictures_stacked():
    images = [picture(seed, height) for seed, height in ((1, 20), (2, 12), (3, 30))]
    histogram = combine_in_tree((Histogram(count_colours(i), 1) for i in images), add_histograms)
    shared = fit_shared_palette(histogram, 6, "lab", random_state=4)
    stacked = quantize(
        Image(pixels=np.vstack([i.pixels for i in images])), 6, colour_space="lab", random_state=4
    )
    assert np.array_equal(shared.palette, stacked.palette)
    assert np.array_equal(shared.counts, stacked.counts)
    assert np.allclose(shared.shares, stacked.shares)


def test_combine_in_tree_combines_every_value_once():
    combined = combine_in_tree(([i] for i in range(11)), lambda a, b: a + b)
    assert sorted(combined) == list(range(11))  # combine is commutative: any order
    with pytest.raises(InputError):
        combine_in_tree([], lambda a, b: a + b)


def test_local_engine_in_process_maps_in_order_and_reduces():
    with LocalEngine(1) as engine:
        assert list(engine.map(divmod, [(7, 2), (9, 4)])) == [(0, (3, 1)), (1, (2, 1))]
        assert engine.tree_reduce(pow, [(2, 3), (3, 2), (5, 1)], max) == 9


@pytest.mark.parametrize(
    "options",
    [{"k": 0}, {"k": 3, "colour_space": "hsv"}, {"k": 3, "sort": "name"}],
)
def test_batch_options_are_checked(options):
    with pytest.raises(InputError):
        BatchOptions(**options)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_local_engine_needs_a_whole_number_of_jobs(jobs):
    with pytest.raises(InputError):
        LocalEngine(jobs)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_local_engine_pool_gives_the_results_of_one_job_whichever_start_method(method):
    if method not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    items = [(picture(seed),) for seed in range(4)]
    with LocalEngine(2, start_method=method).start() as engine:
        results = dict(engine.map(count_colours, items))
    for index, (image,) in enumerate(items):
        expected = count_colours(image)
        np.testing.assert_array_equal(results[index].colours, expected.colours)
        np.testing.assert_array_equal(results[index].counts, expected.counts)


def test_local_engine_refuses_an_unknown_start_method():
    with pytest.raises(InputError, match="started by"):
        LocalEngine(2, start_method="teleport")


def write_photo(path, size=(1732, 1155)):
    """A photo-like picture (china.jpg resized, with noise): about 280,000 colours at 2 MP."""
    sample = PILImage.fromarray(load_sample_image("china.jpg")).resize(size)
    rng = np.random.default_rng(0)
    noisy = np.asarray(sample) + 3.0 * rng.standard_normal((*size[::-1], 3), dtype=np.float32)
    PILImage.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def test_a_record_is_the_same_whatever_the_threads_the_process_allows(tmp_path):
    # A photo-like picture of 2 MP: k-means over 200,000 colours runs on every
    # thread it may use, and two threads' sums had given a palette colour one
    # level apart from one thread's.
    path = write_photo(tmp_path / "photo.jpg")
    options = BatchOptions(k=16)
    with threadpool_limits(1):
        one = palette_record(str(path), options)
    with threadpool_limits(2):
        two = palette_record(str(path), options)
    assert one.ok and one.palette == two.palette and one.psnr == two.psnr


def test_palettes_only_fit_a_jpeg_decoded_scaled_down_and_measure_no_quality(tmp_path):
    path = str(write_photo(tmp_path / "photo.jpg"))
    assert jpeg_palette_draft(path) == 2  # 866 x 578 = 500,548 pixels: the rule's 1/2
    fast = palette_record(path, BatchOptions(k=8, measure_quality=False))
    with threadpool_limits(1):  # as records are fitted (see the test above)
        draft = quantize(load_image(path, draft_factor=2), 8)
        whole = quantize(load_image(path), 8)
    assert [colour["hex"] for colour in fast.palette] == draft.hex_codes()
    assert [colour["count"] for colour in fast.palette] == draft.counts.tolist()
    assert sum(colour["count"] for colour in fast.palette) == 866 * 578  # of the decoded copy
    assert (fast.width, fast.height) == (1732, 1155)  # the picture's own size
    assert fast.psnr is None and fast.mean_delta_e is None
    assert fast.to_dict()["psnr"] is None
    # The default record is unchanged: the full decode's palette, and its quality.
    full = palette_record(path, BatchOptions(k=8))
    assert [colour["hex"] for colour in full.palette] == whole.hex_codes()
    assert full.palette != fast.palette
    assert full.psnr > 20 and full.mean_delta_e > 0


def test_palettes_only_read_other_formats_whole(tmp_path):
    path = tmp_path / "photo.png"
    PILImage.open(write_photo(tmp_path / "photo.jpg")).save(path)
    fast = palette_record(str(path), BatchOptions(k=8, measure_quality=False))
    full = palette_record(str(path), BatchOptions(k=8))
    assert fast.palette == full.palette
    assert fast.psnr is None and full.psnr is not None
